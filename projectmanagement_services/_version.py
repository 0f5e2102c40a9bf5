"""The package version, in a module of its own so that reading it imports nothing else.

Components (telemetry's instrumentation scope, the resource's ``service.version``) need the version;
taking it from the package ``__init__`` would pull in everything the package re-exports.
"""

from __future__ import annotations

from importlib import metadata
from typing import Final

__all__ = ["DISTRIBUTION", "__version__"]

#: The installed distribution this package ships in.
DISTRIBUTION: Final = "pm-resilience"
#: Used when running from a source tree that was never installed.
_FALLBACK: Final = "0.1.0"


def _read_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return _FALLBACK


__version__: Final[str] = _read_version()
