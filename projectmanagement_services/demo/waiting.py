"""Bounded waits of a run: for the stack to connect, an operation to succeed, the store to converge."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, Final
from uuid import UUID

from projectmanagement_core.exceptions import (
    CircuitOpenException,
    RateLimitExceededException,
    ServerRejectedException,
    VersionConflictException,
)
from projectmanagement_core.models import (
    ConnectionState,
)
from projectmanagement_services.demo.stack import ResilientStack
from projectmanagement_services.resilience.classification import is_transient
from projectmanagement_services.state.work_item_store import WorkItemStore

_CONVERGE_TIMEOUT_S: Final = 15.0


def reason(exc: BaseException) -> str:
    if isinstance(exc, ServerRejectedException) and not isinstance(exc, VersionConflictException):
        return f"ServerRejected {exc.code}"
    return type(exc).__name__


async def wait_connected(stack: ResilientStack, deadline: float) -> None:
    while stack.inner.state is not ConnectionState.CONNECTED or stack.reconnection.is_reconnecting:
        if time.monotonic() > deadline:
            raise TimeoutError(f"client not connected (state {stack.inner.state})")
        if stack.reconnection.is_reconnecting:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await stack.reconnection.wait_idle()
        else:
            await asyncio.sleep(0.05)  # Disconnected without a loop: poll, bounded by the deadline


async def until_done(operation: Callable[[], Any], deadline: float) -> Any:
    """Retry an operation (after the chaos) until it succeeds or the deadline passes."""
    while True:
        try:
            return await operation()
        except (CircuitOpenException, RateLimitExceededException) as exc:
            wait = exc.retry_after.total_seconds()
        except Exception as exc:
            if not is_transient(exc):
                raise
            wait = 0.05
        if time.monotonic() + wait > deadline:
            raise TimeoutError("the settle phase ran out of time")
        await asyncio.sleep(wait)


async def converge(store: WorkItemStore, project_id: UUID, server_items: Mapping[UUID, int]) -> bool:
    """Wait (bounded) until the store holds exactly the server's items at the server's versions."""
    changed = asyncio.Event()

    def on_changed(_change: object) -> None:
        changed.set()

    def matches() -> bool:
        return {item.id: item.version for item in store.get_by_project(project_id)} == dict(server_items)

    store.on_changed.subscribe(on_changed)
    try:
        async with asyncio.timeout(_CONVERGE_TIMEOUT_S):
            while not matches():
                changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await changed.wait()
        return True
    except TimeoutError:
        return matches()
    finally:
        store.on_changed.unsubscribe(on_changed)


@contextlib.asynccontextmanager
async def temporary_workdir() -> AsyncIterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pm-chaos-") as path:
        yield Path(path)
