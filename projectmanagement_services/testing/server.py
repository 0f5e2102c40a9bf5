"""``PmTestServer``: the reference pm-ws server, in-process, on ``websockets``.

Each connection gets one reader (the connection handler) and one writer task. The reader handles
requests strictly in order, one answer each; all frames for a connection (broadcasts, answers, fault
frames) go through its writer queue, so a requester that is subscribed sees the broadcasts before
its answer, and a slow subscriber never stalls anyone else's requests.

Behaviour where protocol.md leaves room (**ref**):
- An envelope without a payload, with a payload this server does not model (e.g. comments, 70) or
  with a server-to-client payload (a Pong, an event) is answered with INVALID_MESSAGE rather than
  ignored, so a client never waits for an answer that will not come.
- ``Subscribe.sprint_ids`` are acknowledged and ignored: every broadcast is per project. A broadcast
  reaches subscribers that are members of the project (subscribing does not leak other projects).
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
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Final, Self
from urllib.parse import parse_qs, urlsplit

from google.protobuf.message import DecodeError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import Event

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing.counters import ServerCounters
from projectmanagement_services.testing.faults import ServerFaults
from projectmanagement_services.testing.rate_limit import (
    CLOSE_CODE,
    CLOSE_REASON,
    PM_SERVER_RATE_LIMIT,
    ConnectionRateLimiter,
    RateLimit,
    Verdict,
    rate_limit_warning,
)
from projectmanagement_services.testing.request_handler import ENTITY_REQUESTS, RequestHandler, error_envelope
from projectmanagement_services.testing.store import SqliteStore
from projectmanagement_services.websocket.log_redaction import redacting_logger

__all__ = ["PmTestServer"]

logger = logging.getLogger(__name__)

#: Namespace of the deterministic user id derived from a bearer token.
TOKEN_NAMESPACE: Final = uuid.UUID("6f0c7a52-8a7e-4c43-9c1b-2f1d4f6b9e10")
#: Frames queued for one connection beyond which it is considered stuck and dropped.
MAX_QUEUED_FRAMES: Final = 100_000
_NO_PAYLOAD: Final = "<no payload>"

#: A frame for the writer, and a future settled once it is written; a None frame only settles it.
_Outbound = tuple[bytes | str | None, asyncio.Future[None] | None]


class _Session:
    """One open connection: who it is, what it subscribed to, its outbound queue and rate bucket."""

    def __init__(self, connection: ServerConnection, user_id: str) -> None:
        self.connection = connection
        self.user_id = user_id
        self.subscriptions: set[str] = set()
        self.queue: asyncio.Queue[_Outbound] = asyncio.Queue()
        self.limiter: ConnectionRateLimiter | None = None
        self.limiter_generation = -1
        self.kick: asyncio.Task[None] | None = None  # a rate-limit close started from a control frame
        self.finished = asyncio.Event()
        self.task = asyncio.current_task()  # the connection handler, cancelled on drop/stop

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


class PmTestServer:
    """A protocol-faithful pm-ws server backed by SQLite, with fault controls and counters.

    Args:
        host: Interface to bind (loopback by default).
        port: 0 lets the OS choose; the chosen port is kept across stop()/start().
        database: ``":memory:"`` or a file path; a file keeps data across restarts and processes.
        auth_token: When set, ``Authorization: Bearer <token>`` is required (HTTP 401 otherwise).
        ssl: Serve ``wss://`` with this context.
        rate_limit: pm-server's per-connection limiter (burst, then one frame per period); on by
            default with pm-server's defaults (100, 60 s). ``None`` turns it off; tests that send
            more than the burst on one connection say what they need. ``faults.rate_limit`` changes
            it for a while.
        clock: Monotonic seconds, for the rate limiter.
        sleep: Used for the answer delay fault.
        now: Wall-clock Unix seconds, for timestamps.
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
        self._tokens: dict[str, str] = {}
        self._server: Server | None = None
        self._store: SqliteStore | None = None
        self._handler: RequestHandler | None = None
        self._sessions: set[_Session] = set()
        self._sessions_changed: asyncio.Condition | None = None
        self.counters = ServerCounters()
        self.faults = ServerFaults(self, rate_limit)

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

    async def _sessions_update(self, session: _Session, *, add: bool) -> None:
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
        self._handler = RequestHandler(store, self.counters, now=self._now)
        self._server = await serve(
            self._serve_connection,
            self._host,
            self._port,
            process_request=self._process_request,
            ssl=self._ssl,
            ping_interval=None,  # pm-server never pings: liveness is the client's job
            compression=None,  # nor does it negotiate permessage-deflate
            logger=redacting_logger("websockets.server"),  # no bearer token in its handshake log
            create_connection=_RateCountedConnection,  # pm-server counts ping/pong frames too
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
        self._tokens[token] = str(uuid.UUID(str(user_id)))

    def user_for_token(self, token: str) -> uuid.UUID:
        """The identity a bearer token stands for: registered, else a uuid5 of the token."""
        registered = self._tokens.get(token)
        return uuid.UUID(registered) if registered is not None else uuid.uuid5(TOKEN_NAMESPACE, token)

    def add_member(self, project_id: uuid.UUID | str, user_id: uuid.UUID | str, role: str = "member") -> None:
        """Make ``user_id`` a member of a project (the protocol has no membership messages)."""
        store = self._open_store()
        with store.transaction():
            store.add_member(str(uuid.UUID(str(project_id))), str(uuid.UUID(str(user_id))), role)

    def work_items(self, project_id: uuid.UUID | str, include_deleted: bool = False) -> list[pb.WorkItem]:
        return self._open_store().work_items(str(project_id), include_deleted)

    def sprints(self, project_id: uuid.UUID | str, include_deleted: bool = False) -> list[pb.Sprint]:
        return self._open_store().sprints(str(project_id), include_deleted)

    def projects(self, include_deleted: bool = False) -> list[pb.Project]:
        return self._open_store().projects(include_deleted)

    # ------------------------------------------------------------------ handshake

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Gate the handshake: 404 off ``/ws``, refusal faults (503), 401 without a valid token."""
        if urlsplit(request.path).path != "/ws":
            return self._refuse(connection, 404, "Not Found\n")
        status = self.faults.take_handshake_refusal()
        if status is not None:
            return self._refuse(connection, status, "Service Unavailable: connection limit reached\n")
        if self._auth_token is not None:
            token = _bearer_token(request.headers)
            if token is None or (token != self._auth_token and token not in self._tokens):
                return self._refuse(connection, 401, "Unauthorized\n")
        return None

    def _refuse(self, connection: ServerConnection, status: int, text: str) -> Response:
        self.counters.handshakes_refused += 1
        logger.debug("handshake refused with HTTP %d", status)
        return connection.respond(status, text)

    def _identity(self, request: Request) -> str:
        if self._auth_token is not None:
            return str(self.user_for_token(_bearer_token(request.headers) or ""))
        values = parse_qs(urlsplit(request.path).query).get("user_id", [])
        try:
            return str(uuid.UUID(values[0]))
        except (IndexError, ValueError):
            return str(uuid.uuid4())  # as pm-server: a stranger, member of nothing

    # ------------------------------------------------------------------ connections

    async def _serve_connection(self, connection: ServerConnection) -> None:
        assert connection.request is not None  # the handshake is done when the handler runs
        session = _Session(connection, self._identity(connection.request))
        self.counters.handshakes_accepted += 1
        await self._sessions_update(session, add=True)
        writer = asyncio.create_task(self._write(session))
        if isinstance(connection, _RateCountedConnection):
            connection.on_control_frame = lambda: self._admit_control_frame(session)
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
                    # As pm-server: an undecodable frame costs the sender its connection, silently.
                    self.counters.undecodable_frames += 1
                    logger.debug("undecodable frame from user %s; dropping the connection", session.user_id)
                    connection.transport.abort()
                    break
                await self._dispatch_safely(session, request)
        except ConnectionClosed:
            pass
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            session.abandon_queue()
            await self._sessions_update(session, add=False)
            session.finished.set()
            logger.debug("connection closed for user %s", session.user_id)

    async def _write(self, session: _Session) -> None:
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

    def _admit(self, session: _Session) -> Verdict:
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

    def _admit_control_frame(self, session: _Session) -> None:
        """A ping or pong frame costs a cell too; the fifth refusal closes from a task of its own."""
        if self._admit(session) is Verdict.CLOSE and session.kick is None:
            session.kick = asyncio.get_running_loop().create_task(self._kick(session))

    async def _kick(self, session: _Session) -> None:
        """As pm-server: what is queued goes out, then Close 1008 with its reason."""
        self.counters.rate_limit_closes += 1
        logger.debug("user %s was refused %s; closing with %d", session.user_id, CLOSE_REASON, CLOSE_CODE)
        await self._flush(session)
        await session.connection.close(CLOSE_CODE, CLOSE_REASON)

    async def _flush(self, session: _Session) -> None:
        """Wait until everything queued so far for ``session`` is written (or abandoned)."""
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        session.send(None, delivered)
        await delivered

    async def _dispatch_safely(self, session: _Session, request: pb.WebSocketMessage) -> None:
        """A bug in request handling answers INTERNAL_ERROR and is counted; it never kills the connection."""
        try:
            await self._dispatch(session, request)
        except (ConnectionClosed, asyncio.CancelledError):
            raise
        except Exception:
            self.counters.internal_errors += 1
            logger.exception("request %s failed inside the reference server", request.message_id)
            answer = error_envelope(request.message_id, int(self._now()), "INTERNAL_ERROR", "internal error")
            session.send(answer)

    async def _dispatch(self, session: _Session, request: pb.WebSocketMessage) -> None:
        kind = request.WhichOneof("payload") or _NO_PAYLOAD
        self.counters.requests_by_type[kind] += 1
        self.counters.requests_by_message_id[request.message_id] += 1
        logger.debug("request %s %s from user %s", kind, request.message_id, session.user_id)
        timestamp = int(self._now())
        if kind == "ping":
            if self.faults.take_swallow_pong():
                return
            pong = pb.WebSocketMessage(message_id=request.message_id, timestamp=timestamp)
            pong.pong.timestamp = request.ping.timestamp
            await self._answer(session, pong.SerializeToString(), is_pong=True)
            return
        failure = self.faults.take_failure()
        if failure is not None:
            answer = error_envelope(request.message_id, timestamp, *failure)
        elif kind in ("subscribe", "unsubscribe"):
            ids = getattr(request, kind).project_ids
            if kind == "subscribe":
                session.subscriptions.update(_normalized(ids))
            else:
                session.subscriptions.difference_update(_normalized(ids))
            answer = pb.WebSocketMessage(
                message_id=request.message_id, timestamp=timestamp
            ).SerializeToString()
        elif kind in ENTITY_REQUESTS:
            assert self._handler is not None
            outcome = self._handler.handle(session.user_id, request)
            for project_id, frame in outcome.broadcasts:
                self._broadcast(project_id, frame)
            answer = outcome.answer
        else:
            message = (
                "missing payload" if kind == _NO_PAYLOAD else f"{kind} is not a request this server handles"
            )
            answer = error_envelope(request.message_id, timestamp, "INVALID_MESSAGE", message)
        await self._answer(session, answer, is_pong=False)

    async def _answer(self, session: _Session, frame: bytes, *, is_pong: bool) -> None:
        if self.faults.delay > 0:
            await self._sleep(self.faults.delay)
        if not is_pong and self.faults.take_swallow():
            self.counters.answers_swallowed += 1
            return
        session.send(frame)

    def _broadcast(self, project_id: str, frame: bytes) -> None:
        subscribers = [s for s in self._sessions if project_id in s.subscriptions]
        if not subscribers:
            return
        members = self._open_store().member_ids(project_id)
        for session in subscribers:
            if session.user_id in members:
                session.send(frame)

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


class _RateCountedConnection(ServerConnection):
    """A ``ServerConnection`` that reports ping and pong frames, which websockets answers itself."""

    on_control_frame: Callable[[], None] | None = None

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode in (Opcode.PING, Opcode.PONG):
            hook = self.on_control_frame
            if hook is not None:
                hook()
        super().process_event(event)


def _bearer_token(headers: Headers) -> str | None:
    value = headers.get("Authorization")
    if value is None or not value.startswith("Bearer "):
        return None
    return value.removeprefix("Bearer ").strip() or None


def _normalized(ids: Iterable[str]) -> set[str]:
    """Subscription ids in the canonical spelling entities use; non-UUIDs are kept as they are."""
    result: set[str] = set()
    for raw in ids:
        try:
            result.add(str(uuid.UUID(raw)))
        except ValueError:
            result.add(raw)
    return result
