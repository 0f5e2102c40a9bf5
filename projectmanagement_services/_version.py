"""The package version, in a module of its own so that reading it imports nothing else.

Components (telemetry's instrumentation scope, the resource's ``service.version``) need the version;
taking it from the package ``__init__`` would pull in everything the package re-exports.

``__version__`` is read from the installed distribution's metadata on first access (PEP 562):
``importlib.metadata`` costs about 30 ms to import, which ``import projectmanagement_services`` and
``pm --help`` need not pay.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Final

__all__ = ["DISTRIBUTION", "__version__", "installed_version"]

#: The installed distribution this package ships in.
DISTRIBUTION: Final = "pm-resilience"
#: Used when running from a source tree that was never installed.
_FALLBACK: Final = "0.1.0"

if TYPE_CHECKING:
    __version__: str


@cache
def installed_version() -> str | None:
    """The installed distribution's version; None when run from a source tree never installed."""
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def __getattr__(name: str) -> str:
    if name == "__version__":
        return installed_version() or _FALLBACK
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
