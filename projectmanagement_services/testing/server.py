"""``PmTestServer``: the reference pm-ws server, in-process, on ``websockets``.

Each connection (a :class:`.session.Session`) gets one reader (the connection handler) and one writer
task; :class:`.dispatcher.Dispatcher` answers what the reader decodes. The reader handles
requests strictly in order, one answer each; all frames for a connection (broadcasts, answers, fault
frames) go through its writer queue, so a requester that is subscribed sees the broadcasts before
its answer, and a slow subscriber never stalls anyone else's requests.

Connection-level rules are pm-server's (``pm-ws/src/app_state.rs``, ``web_socket_connection.rs``,
``handlers/dispatcher.rs``): the handshake gate of :mod:`.handshake` (identity, 401, then the 503
connection limit), a handler timeout around each request (TIMEOUT), pm-server's own circuit breaker
around the handler (:mod:`.server_breaker`), INVALID_MESSAGE for an envelope without a request payload,
text frames ignored, a client's WebSocket Pings and Pongs counted like messages (:mod:`.control_frames`),
and an undecodable binary frame ending the connection without a Close frame.

Behaviour where protocol.md leaves room (**ref**):
- An envelope without a payload, with a payload this server does not model (e.g. comments, 70) or
  with a server-to-client payload (a Pong, an event) is answered with INVALID_MESSAGE rather than
  ignored, so a client never waits for an answer that will not come.
- Subscriptions are pm-server's: ids are kept and matched as the exact strings sent (an upper-case
  spelling never matches), nobody checks membership (a stranger who subscribes to a project id hears
  its broadcasts, as on pm-server), and a sprint's ActivityLogCreated also reaches the sprint's
  ``sprint_ids`` subscribers.
- Without auth, each connecting user is recorded as a known user (as pm-server's desktop mode does):
  only known users can be assignees (:meth:`PmTestServer.add_user` registers one by hand).
- ``:memory:`` keeps its data across :meth:`PmTestServer.stop`/:meth:`PmTestServer.start` of the same
  object (the store lives until the ``async with`` block ends); a file database also survives the
  process, because stop() closes it and start() reopens it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from google.protobuf.message import DecodeError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Opcode
from websockets.http11 import Request, Response

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing.connection_limits import (
    DEFAULT_HANDLER_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    MAX_FRAME_BYTES,
    check_handler_timeout,
)
from projectmanagement_services.testing.control_frames import ControlFrameConnection
from projectmanagement_services.testing.counters import ServerCounters
from projectmanagement_services.testing.dispatcher import Dispatcher
from projectmanagement_services.testing.faults import ServerFaults
from projectmanagement_services.testing.handshake import HandshakeGate, Refusal
from projectmanagement_services.testing.identity import DEFAULT_DESKTOP_USER_ID
from projectmanagement_services.testing.rate_limit import (
    CLOSE_CODE,
    CLOSE_REASON,
    PM_SERVER_RATE_LIMIT,
    ConnectionRateLimiter,
    RateLimit,
    Verdict,
    rate_limit_warning,
)
from projectmanagement_services.testing.request_handler import RequestHandler
from projectmanagement_services.testing.server_breaker import ServerBreakerSettings, ServerCircuitBreaker
from projectmanagement_services.testing.session import Session
from projectmanagement_services.testing.store import SqliteStore
from projectmanagement_services.websocket.log_redaction import redacting_logger

__all__ = ["PmTestServer"]

logger = logging.getLogger(__name__)


class PmTestServer:
    """A protocol-faithful pm-ws server backed by SQLite, with fault controls and counters.

    Args:
        host: Interface to bind (loopback by default).
        port: 0 lets the OS choose; the chosen port is kept across stop()/start().
        database: ``":memory:"`` or a file path; a file keeps data across restarts and processes.
        auth_token: When set, ``Authorization: Bearer <token>`` is required (HTTP 401 otherwise):
            the simple static-token mode (not pm-server's; see ``jwt_secret``).
        ssl: Serve ``wss://`` with this context.
        rate_limit: pm-server's per-connection limiter (burst, then one frame per period); on by
            default with pm-server's defaults (100, 60 s). ``None`` turns it off; tests that send
            more than the burst on one connection say what they need. ``faults.rate_limit`` changes
            it for a while.
        max_connections: Open connections beyond which a handshake gets HTTP 503 (pm-server's
            ``server.max_connections``, default 10000, range 1-100000); None for no limit.
        handler_timeout: Seconds a request may take before it is answered TIMEOUT "Request timed
            out. Please try again." (pm-server: 30); None for no timeout.
        server_breaker: pm-server's own circuit breaker (5 failures, 30 s, stuck open as upstream);
            None turns it off.
        jwt_secret: pm-server's auth mode with HS256 tokens signed with this secret (at least 32
            characters): ``sub`` is the user id, ``exp`` required (30 s leeway), HTTP 401 otherwise.
        jwt_public_key: The same with RS256 tokens checked against this PEM public key.
        desktop_user_id: Without auth, the identity of a connection that sends no ``?user_id=``
            (pm-server's ``auth.desktop_user_id``, default ``"local-user"``: not a UUID, so a random
            one per connection); None or "" for ``session-<uuid>``, which is random too.
        clock: Monotonic seconds, for the rate limiter and the breaker.
        sleep: Used for the answer and handling delay faults.
        now: Wall-clock Unix seconds, for timestamps and the breaker's failure window.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        database: str | Path = ":memory:",
        auth_token: str | None = None,
        ssl: ssl_module.SSLContext | None = None,
        *,
        rate_limit: RateLimit | None = PM_SERVER_RATE_LIMIT,
        max_connections: int | None = DEFAULT_MAX_CONNECTIONS,
        handler_timeout: float | None = DEFAULT_HANDLER_TIMEOUT,
        server_breaker: ServerBreakerSettings | None = ServerBreakerSettings(),  # noqa: B008 - frozen
        jwt_secret: str | bytes | None = None,
        jwt_public_key: str | None = None,
        desktop_user_id: str | None = DEFAULT_DESKTOP_USER_ID,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._host = host
        self._port = port
        self._database = database
        self._auth_token = auth_token
        self._ssl = ssl
        self._clock = clock
        self._sleep = sleep
        self._now = now
        self._gate = HandshakeGate(
            auth_token=auth_token,
            jwt_secret=jwt_secret,
            jwt_public_key=jwt_public_key,
            desktop_user_id=desktop_user_id,
            max_connections=max_connections,
            now=now,
        )
        self._handler_timeout = check_handler_timeout(handler_timeout)
        self.breaker = (
            ServerCircuitBreaker(server_breaker, now=now, clock=clock) if server_breaker is not None else None
        )
        #: The identity each accepted handshake resolved to, until its connection handler takes it.
        self._identities: weakref.WeakKeyDictionary[ServerConnection, str] = weakref.WeakKeyDictionary()
        self._server: Server | None = None
        self._store: SqliteStore | None = None
        self._sessions: set[Session] = set()
        self._sessions_changed: asyncio.Condition | None = None
        self.counters = ServerCounters()
        self.faults = ServerFaults(self, rate_limit)
        self._dispatcher = Dispatcher(
            sessions=self._sessions,
            counters=self.counters,
            faults=self.faults,
            breaker=self.breaker,
            handler_timeout=self._handler_timeout,
            now=now,
            sleep=sleep,
        )

    # ------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        scheme = "wss" if self._ssl is not None else "ws"
        return f"{scheme}://{self._host}:{self._port}/ws"

    @property
    def is_running(self) -> bool:
        return self._server is not None

    @property
    def connection_count(self) -> int:
        return len(self._sessions)

    async def wait_for_connection_count(self, count: int) -> None:
        """Return once exactly ``count`` connections are open (wrap it in a timeout)."""
        changed = self._condition()
        async with changed:
            await changed.wait_for(lambda: len(self._sessions) == count)

    def _condition(self) -> asyncio.Condition:
        if self._sessions_changed is None:
            self._sessions_changed = asyncio.Condition()
        return self._sessions_changed

    async def _sessions_update(self, session: Session, *, add: bool) -> None:
        if add:
            self._sessions.add(session)
        else:
            self._sessions.discard(session)
        changed = self._condition()
        async with changed:
            changed.notify_all()

    async def start(self) -> None:
        """Listen (again) on the configured port; after a stop() it is the same port."""
        if self._server is not None:
            raise RuntimeError("the server is already running")
        store = self._open_store()
        self._dispatcher.handler = RequestHandler(store, self.counters, now=self._now)
        self._server = await serve(
            self._serve_connection,
            self._host,
            self._port,
            process_request=self._process_request,
            ssl=self._ssl,
            ping_interval=None,  # pm-server never pings: liveness is the client's job
            compression=None,  # nor does it negotiate permessage-deflate
            max_size=MAX_FRAME_BYTES,  # axum's default message limit, not websockets' 1 MiB
            logger=redacting_logger("websockets.server"),  # no bearer token in its handshake log
            create_connection=ControlFrameConnection,  # to see the client's Pings and Pongs
        )
        self._port = self._server.sockets[0].getsockname()[1]
        logger.debug("pm test server listening on %s", self.url)

    async def stop(self) -> None:
        """Stop listening and drop every connection without a Close frame, as a crash would."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close(close_connections=False)
        for connection in list(server.all_connections):
            connection.transport.abort()
        self._cancel_handlers()
        await server.wait_closed()
        if str(self._database) != ":memory:" and self._store is not None:
            self._store.close()
            self._store = None
        logger.debug("pm test server stopped")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
        if self._store is not None:
            self._store.close()
            self._store = None

    def _open_store(self) -> SqliteStore:
        if self._store is None:
            self._store = SqliteStore(self._database)
        return self._store

    # ------------------------------------------------------------------ identity and direct access

    def register_token(self, token: str, user_id: uuid.UUID | str) -> None:
        """Accept ``token`` (in addition to ``auth_token``) as the identity ``user_id``."""
        self._gate.register_token(token, user_id)

    def user_for_token(self, token: str) -> uuid.UUID:
        """The identity a bearer token stands for: registered, else a uuid5 of the token."""
        return self._gate.user_for_token(token)

    def add_member(self, project_id: uuid.UUID | str, user_id: uuid.UUID | str, role: str = "editor") -> None:
        """Make ``user_id`` a member of a project (the protocol has no membership messages).

        Roles are pm-server's: ``viewer`` reads, ``editor`` also writes, ``admin`` also deletes
        (``member`` is accepted as ``editor``).
        """
        store = self._open_store()
        with store.transaction():
            store.add_member(str(uuid.UUID(str(project_id))), str(uuid.UUID(str(user_id))), role)

    def add_user(self, user_id: uuid.UUID | str) -> None:
        """Record a known user, so it can be an assignee (open mode records each connecting user)."""
        store = self._open_store()
        with store.transaction():
            store.ensure_user(str(uuid.UUID(str(user_id))))

    def work_items(self, project_id: uuid.UUID | str, include_deleted: bool = False) -> list[pb.WorkItem]:
        return self._open_store().work_items(str(project_id), include_deleted)

    def sprints(self, project_id: uuid.UUID | str, include_deleted: bool = False) -> list[pb.Sprint]:
        return self._open_store().sprints(str(project_id), include_deleted)

    def projects(self, include_deleted: bool = False) -> list[pb.Project]:
        return self._open_store().projects(include_deleted)

    # ------------------------------------------------------------------ handshake

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Gate the handshake: 404 off ``/ws``, refusal faults (503), then pm-server's 401 and 503."""
        if urlsplit(request.path).path != "/ws":
            return self._refuse(connection, 404, "Not Found\n")
        status = self.faults.take_handshake_refusal()
        if status is not None:
            return self._refuse(connection, status, "Service Unavailable: connection limit reached\n")
        decision = self._gate.decide(request, len(self._sessions))
        if decision == Refusal(503):
            self.counters.connection_limit_refusals += 1
            return self._refuse(connection, 503, "Service Unavailable\n")
        if isinstance(decision, Refusal):
            return self._refuse(connection, decision, "Unauthorized\n")
        self._identities[connection] = decision
        return None

    def _refuse(self, connection: ServerConnection, status: int, text: str) -> Response:
        self.counters.handshakes_refused += 1
        logger.debug("handshake refused with HTTP %d", status)
        return connection.respond(status, text)

    # ------------------------------------------------------------------ connections

    async def _serve_connection(self, connection: ServerConnection) -> None:
        session = Session(connection, self._identities.pop(connection))
        if self._gate.desktop_mode:
            self.add_user(session.user_id)  # as pm-server's desktop mode (app_state.rs)
        self.counters.handshakes_accepted += 1
        await self._sessions_update(session, add=True)
        writer = asyncio.create_task(self._write(session))
        if isinstance(connection, ControlFrameConnection):
            connection.on_control = lambda opcode, data: self._on_control_frame(session, opcode, data)
        logger.debug("connection open from %s as user %s", connection.remote_address, session.user_id)
        try:
            async for frame in connection:
                verdict = self._admit(session)
                if verdict is Verdict.CLOSE:
                    await self._kick(session)
                    break
                if verdict is Verdict.WARN:
                    continue
                if isinstance(frame, str):
                    continue  # text from a client means nothing in this protocol
                try:
                    request = pb.WebSocketMessage.FromString(frame)
                except DecodeError:
                    # As pm-server: an undecodable frame costs the sender its connection. What is
                    # already queued is still sent, then the socket closes without a Close frame.
                    self.counters.undecodable_frames += 1
                    logger.debug("undecodable frame from user %s; dropping the connection", session.user_id)
                    await self._flush(session)
                    connection.transport.close()
                    break
                await self._dispatcher.dispatch(session, request)
        except ConnectionClosed:
            pass
        finally:
            if isinstance(connection, ControlFrameConnection):
                connection.on_control = None
            for task in list(session.control_tasks):
                task.cancel()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            session.abandon_queue()
            await self._sessions_update(session, add=False)
            session.finished.set()
            logger.debug("connection closed for user %s", session.user_id)

    async def _write(self, session: Session) -> None:
        while True:
            frame, delivered = await session.queue.get()
            try:
                if frame is not None:
                    await session.connection.send(frame)
            except ConnectionClosed:
                session.abandon_queue()
                return
            finally:
                if delivered is not None and not delivered.done():
                    delivered.set_result(None)

    def _admit(self, session: Session) -> Verdict:
        """pm-server's rate limit for one frame; a refusal short of the fifth is warned about here."""
        settings = self.faults.rate_limit_settings
        if settings is None:
            return Verdict.ACCEPT
        if session.limiter is None or session.limiter_generation != settings.generation:
            session.limiter = ConnectionRateLimiter(settings.limit, self._clock)
            session.limiter_generation = settings.generation
        verdict = session.limiter.check()
        if verdict is Verdict.ACCEPT:
            return verdict
        self.counters.rate_limited += 1
        if verdict is Verdict.WARN:
            session.send(rate_limit_warning(session.limiter.violations))
        return verdict

    async def _kick(self, session: Session) -> None:
        """As pm-server: what is queued goes out, then Close 1008 with its reason."""
        self.counters.rate_limit_closes += 1
        logger.debug("user %s was refused %s; closing with %d", session.user_id, CLOSE_REASON, CLOSE_CODE)
        await self._flush(session)
        await session.connection.close(CLOSE_CODE, CLOSE_REASON)

    def _on_control_frame(self, session: Session, opcode: Opcode, data: bytes) -> None:
        task = asyncio.get_running_loop().create_task(self._control_frame(session, opcode, data))
        session.control_tasks.add(task)
        task.add_done_callback(session.control_tasks.discard)

    async def _control_frame(self, session: Session, opcode: Opcode, data: bytes) -> None:
        """As pm-server: a client Ping or Pong costs a rate-limit token; an admitted Ping gets a Pong.

        websockets has already sent its own Pong, as tungstenite does, so a client gets two.
        """
        verdict = self._admit(session)
        if verdict is Verdict.CLOSE:
            if session.kick is None:  # one Close, however many refused frames arrive meanwhile
                session.kick = asyncio.current_task()
                await self._kick(session)
            return
        if verdict is not Verdict.ACCEPT or opcode is not Opcode.PING:
            return
        with contextlib.suppress(ConnectionClosed):
            await session.connection.pong(data)

    async def _flush(self, session: Session) -> None:
        """Wait until everything queued so far for ``session`` is written (or abandoned)."""
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        session.send(None, delivered)
        await delivered

    # ------------------------------------------------------------------ FaultTarget

    def _cancel_handlers(self) -> None:
        """Stop handlers that may be parked in an answer delay; nothing is mid-transaction at an await."""
        for session in self._sessions:
            if session.task is not None:
                session.task.cancel()

    async def abort_connections(self) -> None:
        sessions = list(self._sessions)
        if self._server is not None:
            for connection in list(self._server.all_connections):
                connection.transport.abort()
        for session in sessions:
            session.connection.transport.abort()
        self._cancel_handlers()
        for session in sessions:
            await session.finished.wait()

    async def close_connections(self, code: int, reason: str) -> None:
        sessions = list(self._sessions)
        await asyncio.gather(*(s.connection.close(code, reason) for s in sessions), return_exceptions=True)

    async def send_to_all(self, frame: bytes | str) -> None:
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Future[None]] = []
        for session in list(self._sessions):
            delivered: asyncio.Future[None] = loop.create_future()
            session.send(frame, delivered)
            waits.append(delivered)
        if waits:
            await asyncio.gather(*waits)
