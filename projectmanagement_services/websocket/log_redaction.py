"""Keep credentials out of ``websockets``' own handshake log, on the client and the server alike.

``websockets`` logs every handshake header at DEBUG, one record per header (``> %s: %s`` for
headers it sends, ``< %s: %s`` for headers it receives), so the bearer token a client sends would
appear in the client's log as sent and in the server's log as received. Both sides hand
``websockets`` a ``HeaderRedactingLogger`` instead of a plain logger; the header *name* stays in the
log (useful when debugging a handshake), the value does not.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any, Final

__all__ = ["REDACTED", "SENSITIVE_HEADERS", "HeaderRedactingLogger", "redacting_logger"]

#: What a redacted header value reads as in the log.
REDACTED: Final = "<redacted>"
#: Header names (lower case) whose values are credentials.
SENSITIVE_HEADERS: Final = frozenset({"authorization", "proxy-authorization"})


class HeaderRedactingLogger(logging.LoggerAdapter[logging.Logger]):
    """A logger for ``websockets`` (its ``logger=`` argument) that hides credential header values.

    A record whose two arguments are a header name and value (how ``websockets`` logs headers)
    has the value replaced by ``REDACTED`` when the name is in ``SENSITIVE_HEADERS``, before the
    record is created: no handler, formatter or captured ``record.args`` ever sees the secret.
    """

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if len(args) == 2 and isinstance(args[0], str) and args[0].lower() in SENSITIVE_HEADERS:
            args = (args[0], REDACTED)
        # Attribute the record to websockets' line that logged it, not to this method.
        kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
        super().log(level, msg, *args, **kwargs)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        """Pass records through unchanged (no ``extra`` is added)."""
        return msg, kwargs


def redacting_logger(name: str) -> HeaderRedactingLogger:
    """``HeaderRedactingLogger`` over ``logging.getLogger(name)`` (``"websockets.server"``, say)."""
    return HeaderRedactingLogger(logging.getLogger(name))
