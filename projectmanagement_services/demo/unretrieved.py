"""A watch for asyncio's 'exception was never retrieved' reports during a run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any, Final

#: The text asyncio logs for a task exception nobody retrieved.
UNRETRIEVED: Final = "never retrieved"


class UnretrievedWatch(logging.Handler):
    """Catches asyncio's 'exception was never retrieved' reports, from the log and the loop."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if UNRETRIEVED in message:
            self.messages.append(message)

    @contextlib.contextmanager
    def installed(self, loop: asyncio.AbstractEventLoop) -> Iterator[None]:
        asyncio_log = logging.getLogger("asyncio")
        previous = loop.get_exception_handler()

        def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            if UNRETRIEVED in str(context.get("message", "")):
                self.messages.append(str(context.get("message")))
            if previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)

        asyncio_log.addHandler(self)
        loop.set_exception_handler(handler)
        try:
            yield
        finally:
            loop.set_exception_handler(previous)
            asyncio_log.removeHandler(self)
