"""One open connection of the reference server: identity, subscriptions, outbound queue, rate bucket."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from websockets.asyncio.server import ServerConnection

from projectmanagement_services.testing.rate_limit import ConnectionRateLimiter

__all__ = ["MAX_QUEUED_FRAMES", "Outbound", "Session"]

logger = logging.getLogger("projectmanagement_services.testing.server")

#: Frames queued for one connection beyond which it is considered stuck and dropped.
MAX_QUEUED_FRAMES: Final = 100_000

#: A frame for the writer, and a future settled once it is written; a None frame only settles it.
Outbound = tuple[bytes | str | None, asyncio.Future[None] | None]


class Session:
    """One open connection: who it is, what it subscribed to, its outbound queue and rate bucket."""

    def __init__(self, connection: ServerConnection, user_id: str) -> None:
        self.connection = connection
        self.user_id = user_id
        self.projects: set[str] = set()
        self.sprints: set[str] = set()
        self.queue: asyncio.Queue[Outbound] = asyncio.Queue()
        self.limiter: ConnectionRateLimiter | None = None
        self.limiter_generation = -1
        self.kick: asyncio.Task[None] | None = None  # a rate-limit close started from a control frame
        self.finished = asyncio.Event()
        self.task = asyncio.current_task()  # the connection handler, cancelled on drop/stop
        self.control_tasks: set[asyncio.Task[None]] = set()  # the client's Pings and Pongs, in flight

    def send(self, frame: bytes | str | None, delivered: asyncio.Future[None] | None = None) -> None:
        if self.queue.qsize() >= MAX_QUEUED_FRAMES:
            logger.warning("connection %s is not reading; dropping it", self.user_id)
            self.connection.transport.abort()
            return
        self.queue.put_nowait((frame, delivered))

    def abandon_queue(self) -> None:
        """Settle the futures of frames that will never be sent, so nobody waits for them forever."""
        while not self.queue.empty():
            _, delivered = self.queue.get_nowait()
            if delivered is not None and not delivered.done():
                delivered.set_result(None)
