"""The FastAPI application: the client's lifecycle in the lifespan, errors mapped to HTTP once.

Every request runs under the host's ``request_deadline``; the client's own errors map to clean
answers: an unreachable server, a timeout or an open circuit is a 503 (with ``Retry-After``), an
invalid request a 422, a version conflict a 409. A request therefore ends with a correct answer
or a clean 503, never a hang, also while the server restarts.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from examples.fastapi_host import routes
from examples.fastapi_host.containers import HostContainer
from projectmanagement_core.exceptions import (
    CircuitOpenException,
    ConnectionException,
    ErrorCode,
    ProjectManagementException,
    RequestTimeoutException,
    ServerRejectedException,
    ValidationException,
    VersionConflictException,
)
from projectmanagement_services import running

__all__ = ["DeadlineMiddleware", "create_app", "error_response"]


def create_app(container: HostContainer | None = None) -> FastAPI:
    """The app over ``container`` (a configured ``HostContainer``; tests pass one with overrides)."""
    host = container if container is not None else HostContainer()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        host.wire(modules=[routes])
        try:
            async with running(host):  # connect; on exit close stores, reconnection, client, telemetry
                yield
        finally:
            host.unwire()

    app = FastAPI(title="pm-ws host example", lifespan=lifespan)
    app.state.container = host
    app.include_router(routes.router)

    app.add_middleware(DeadlineMiddleware, deadline=host.request_deadline)

    @app.exception_handler(ProjectManagementException)
    async def client_error(_request: Request, exc: ProjectManagementException) -> JSONResponse:
        return error_response(exc)

    return app


class DeadlineMiddleware:
    """Ends any request that outlives ``deadline()`` seconds with a 503 (pure ASGI: the request's
    own task is cancelled, so the client call it awaits is cancelled with it)."""

    def __init__(self, app: ASGIApp, deadline: Callable[[], float]) -> None:
        self._app = app
        self._deadline = deadline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            async with asyncio.timeout(self._deadline()):
                await self._app(scope, receive, tracking_send)
        except TimeoutError:
            if started:
                raise
            response = _json(
                503, "deadline", "the request took longer than the host's deadline", retry_after=1
            )
            await response(scope, receive, send)


def error_response(exc: ProjectManagementException) -> JSONResponse:
    """The HTTP answer for one of the client's exceptions."""
    if isinstance(exc, CircuitOpenException):
        return _json(503, "circuit_open", str(exc), retry_after=exc.retry_after.total_seconds())
    if isinstance(exc, ConnectionException | RequestTimeoutException):
        return _json(503, "unavailable", str(exc), retry_after=1)
    if isinstance(exc, ValidationException):
        return _json(
            422, "invalid", str(exc), fields=[{"field": e.field, "message": e.message} for e in exc.errors]
        )
    if isinstance(exc, VersionConflictException):
        return _json(409, "conflict", str(exc))
    if isinstance(exc, ServerRejectedException):
        if exc.code in ErrorCode.TRANSIENT:
            return _json(503, "unavailable", exc.code, retry_after=1)
        if exc.code == ErrorCode.NOT_FOUND:
            return _json(404, "not_found", exc.message)
        if exc.code == ErrorCode.UNAUTHORIZED:
            return _json(403, "forbidden", exc.message)
        return _json(502, "server_error", exc.code)  # never the server's text: it may hold internals
    return _json(500, "client_error", type(exc).__name__)


def _json(
    status: int, error: str, detail: str, *, retry_after: float | None = None, **extra: Any
) -> JSONResponse:
    headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after is not None else None
    return JSONResponse({"error": error, "detail": detail, **extra}, status_code=status, headers=headers)
