"""The ``pm`` command (placeholder until the CLI lands)."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    print("pm: not implemented yet", file=sys.stderr)
    return 2
