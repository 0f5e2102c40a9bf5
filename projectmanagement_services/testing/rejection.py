"""The one exception the reference server's request handling raises to answer with an Error."""

from __future__ import annotations

__all__ = ["RequestRejected"]


class RequestRejected(Exception):
    """A request the server refuses; becomes a ``pm.Error`` answer with the same fields.

    Raised anywhere inside the handling of one request, so the rules read top to bottom instead of
    threading error values through every helper.
    """

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field
