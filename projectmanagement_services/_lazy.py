"""Lazy re-exports for this package's ``__init__`` files: the helper lives in the core package
(``projectmanagement_core._lazy``), whose ``__init__`` uses it too."""

from __future__ import annotations

from projectmanagement_core._lazy import lazy_exports

__all__ = ["lazy_exports"]
