"""Lazy re-exports for a package ``__init__`` (PEP 562), so that importing a package is cheap.

A package lists which module defines each name it re-exports; a name is imported on first access
and then cached in the package's namespace. The packages also import the same names under
``if TYPE_CHECKING:`` so that mypy and IDEs see them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, namespace: dict[str, Any], origins: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, whose names come from ``origins``.

    Args:
        package: the package's ``__name__`` (for the error message).
        namespace: the package's ``globals()``: where a name is cached once imported.
        origins: exported name -> the module that defines it.
    """

    def get_attribute(name: str) -> Any:
        module = origins.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace[name] = value
        return value

    def list_names() -> list[str]:
        return sorted({*namespace, *origins})

    return get_attribute, list_names
