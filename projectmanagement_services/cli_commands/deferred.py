"""A parser's handler named by module and attribute, imported only when its command runs.

``pm`` registers every command on one parser; importing each command's module to get its handler
would load pydantic, the DI container, websockets and rich for every ``pm --help``. The parser
keeps a ``DeferredHandler`` instead, which imports the handler on its first call.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from importlib import import_module
from typing import TypeAlias

__all__ = ["DeferredHandler", "Handler", "deferred"]

#: A parser's ``handler``: the arguments in, the exit code out.
Handler: TypeAlias = Callable[[argparse.Namespace], int]
#: Where the command modules live; ``deferred("projects", ...)`` means a module in this package.
_PACKAGE = "projectmanagement_services.cli_commands"


class DeferredHandler:
    """Calls ``module.name(args)``, importing ``module`` on the first call."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    def resolve(self) -> Handler:
        """The handler itself (imports its module)."""
        handler: Handler = getattr(import_module(self.module), self.name)
        return handler

    def __call__(self, args: argparse.Namespace) -> int:
        return self.resolve()(args)

    def __repr__(self) -> str:
        return f"DeferredHandler({self.module!r}, {self.name!r})"


def deferred(module: str, name: str) -> DeferredHandler:
    """The handler ``name`` of ``projectmanagement_services.cli_commands.<module>``, imported when called."""
    return DeferredHandler(f"{_PACKAGE}.{module}", name)
