"""The chaos engine behind ``pm demo`` and ``benchmarks/chaos_soak.py``: prove resilience by abuse.

For ``duration_s`` seconds, ``workers`` tasks create, update and delete work items through one
``ResilientWebSocketClient`` while a seeded fault schedule drops connections, restarts the server,
swallows answers, injects error bursts and sends malformed frames. A second client, subscribed to
the project, keeps a ``WorkItemStore``. Both clients are built by the DI container
(``create_container``) from the caller's ``AppSettings`` with the demo's own layer on top (its
server, a user id, demo-sized timings: ``demo_settings``), exactly as an embedding application
builds them, so the user's Telemetry settings apply to the demo too. An operation whose outcome
the chaos hid (it failed, but the server may have applied it) is re-sent by its worker, and
whatever is still waiting when the chaos ends is settled then: a create with its original
message_id, which the server de-duplicates; a delete again, where NOT_FOUND means it had applied. Then the engine checks what resilience
promises: no item lost or duplicated (by count and an id checksum), the subscriber's store equal to
the server, no request left pending, no task left running, no unretrieved task exception.

The reference server runs in a child process (``python -m projectmanagement_services.demo
--control-server DB``), driven over its stdin/stdout with one JSON command a line. So its memory
is not the client's, a restart is a real process-level listener restart, and the client's RSS
growth is measured alone.

Usage::

    report = await run_chaos(60, seed=7, on_progress=print, settings=AppSettings.load("appsettings.json"))
    assert report.passed, report.failed_checks
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import importlib
import json
import logging
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Final
from uuid import UUID

from projectmanagement_core.exceptions import (
    CircuitOpenException,
    ErrorCode,
    ProjectManagementException,
    RateLimitExceededException,
    ServerRejectedException,
    VersionConflictException,
)
from projectmanagement_core.models import (
    ConnectionState,
    CreateProjectRequest,
    CreateWorkItemRequest,
    UpdateWorkItemRequest,
    WorkItemType,
)
from projectmanagement_services.clock import SleepFunction
from projectmanagement_services.container import PmContainer, create_container
from projectmanagement_services.resilience.circuit_breaker import (
    CircuitBreaker,
    CircuitState,
    CircuitStateChange,
)
from projectmanagement_services.resilience.classification import is_transient
from projectmanagement_services.resilience.reconnection_service import ReconnectionResult, ReconnectionService
from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient
from projectmanagement_services.settings import AppSettings
from projectmanagement_services.state.work_item_store import WorkItemStore
from projectmanagement_services.websocket.client import WebSocketClient

__all__ = [
    "FAULT_KINDS",
    "ChaosCheck",
    "ChaosEvent",
    "ChaosProgress",
    "ChaosReport",
    "Fault",
    "ResilientStack",
    "ServerProcess",
    "build_resilient_stack",
    "demo_settings",
    "fault_schedule",
    "rss_bytes",
    "run_chaos",
]

_log = logging.getLogger(__name__)

#: The faults the schedule draws from, with their relative weights.
FAULT_KINDS: Final[Mapping[str, int]] = {
    "drop_connections": 3,
    "restart_server": 1,
    "swallow_answers": 3,
    "error_burst": 3,
    "malformed_frame": 2,
}
#: The server's rate limit for the whole run (pm-server's bucket, at a demo's pace): a burst of 100
#: frames per connection, then one per 4 ms (250 a second). The clients are configured with the same.
DEMO_RATE_LIMIT_BURST: Final = 100
DEMO_RATE_LIMIT_PERIOD_S: Final = 0.004
#: The rate-limit phase (``rate_limit_burst``, once a run, at this share of the duration): for
#: ``_BURST_S`` the writer's client also serves ``_BURST_READERS`` readers that ask as fast as they
#: can, far beyond the server's limit. Its rate limiter makes the surplus wait (or fail fast when the
#: wait would pass RequestTimeout): the server refuses nothing and kicks no one.
_BURST_AT: Final = 0.4
_BURST_S: Final = 1.5
_BURST_READERS: Final = 20
_MAX_OWNED_ITEMS: Final = 5  # per worker, so resync lists stay small and memory stays flat
_COMMAND_TIMEOUT_S: Final = 30.0
_SETTLE_TIMEOUT_S: Final = 60.0
_CONVERGE_TIMEOUT_S: Final = 15.0
_UNRETRIEVED: Final = "never retrieved"
_CHECKSUM_MODULUS: Final = 2**128


# -- fault schedule --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fault:
    """One scheduled fault: when (seconds after the start), what, and how much.

    ``amount``: seconds of downtime for a restart, answers for ``swallow_answers``, failed requests
    for ``error_burst``, seconds of reads beyond the rate limit for ``rate_limit_burst``; unused
    otherwise.
    """

    at_s: float
    kind: str
    amount: float = 0.0


def fault_schedule(duration_s: float, seed: int, *, rate_limit_phase: bool = True) -> list[Fault]:
    """The faults of one run: a pure function of duration and seed, so a failing run can be replayed.

    Random faults drawn from ``FAULT_KINDS``, plus (``rate_limit_phase``) one rate-limit phase at
    40 % of the run.
    """
    rng = random.Random(seed)
    kinds = list(FAULT_KINDS)
    weights = [FAULT_KINDS[k] for k in kinds]
    faults: list[Fault] = []
    at = rng.uniform(0.3, 1.0)
    while at < duration_s - 0.3:
        kind = rng.choices(kinds, weights)[0]
        if kind == "restart_server":
            amount = round(rng.uniform(0.2, 1.5), 3)
        elif kind == "swallow_answers":
            amount = float(rng.randint(1, 3))
        elif kind == "error_burst":
            amount = float(rng.randint(3, 12))
        else:
            amount = 0.0
        faults.append(Fault(round(at, 3), kind, amount))
        at += rng.uniform(0.6, 2.0)
    if rate_limit_phase:
        faults.append(Fault(round(duration_s * _BURST_AT, 3), "rate_limit_burst", _BURST_S))
    return sorted(faults, key=lambda fault: fault.at_s)


# -- the server in a child process ------------------------------------------------------------------


class ServerProcess:
    """A ``PmTestServer`` on a file database in a child process, driven by JSON commands.

    Commands (``await server.command(op, **args)``): ``drop``, ``restart`` (``down_s``),
    ``swallow`` (``n``), ``fail`` (``n``), ``malformed``, ``clear``, ``items`` (``project_id``),
    ``counters``. One command runs at a time, in order.
    """

    def __init__(self, database: Path, stderr_path: Path, *, rate_limited: bool = True) -> None:
        self._database = database
        self._rate_limited = rate_limited
        self._stderr_path = stderr_path
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self.url = ""

    async def start(self) -> None:
        with self._stderr_path.open("ab") as stderr:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "projectmanagement_services.demo",
                "--control-server",
                str(self._database),
                *([] if self._rate_limited else ["--no-rate-limit"]),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )
        reply = await self._read()
        self.url = str(reply["url"])

    async def command(self, op: str, **args: Any) -> dict[str, Any]:
        async with self._lock:
            process = self._require()
            assert process.stdin is not None
            process.stdin.write((json.dumps({"op": op, **args}) + "\n").encode())
            await process.stdin.drain()
            reply = await self._read()
        if "error" in reply:
            raise RuntimeError(f"server command {op!r} failed: {reply['error']}")
        return reply

    async def _read(self) -> dict[str, Any]:
        process = self._require()
        assert process.stdout is not None
        async with asyncio.timeout(_COMMAND_TIMEOUT_S):
            line = await process.stdout.readline()
        if not line:
            raise RuntimeError(f"the server process exited (see {self._stderr_path})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _require(self) -> asyncio.subprocess.Process:
        if self._process is None:
            raise RuntimeError("the server process is not started")
        return self._process

    async def aclose(self) -> int | None:
        """Stop the child (EOF on its stdin); kill it if it does not exit. Returns its exit code."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.stdin is not None:
            process.stdin.close()
        try:
            async with asyncio.timeout(10):
                return await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
            return None


async def _control_server(database: str, rate_limited: bool = True) -> None:
    """Child side of ``ServerProcess``: serve, and apply one command per stdin line."""
    from projectmanagement_services.testing import PmTestServer, RateLimit

    limit = RateLimit(DEMO_RATE_LIMIT_BURST, DEMO_RATE_LIMIT_PERIOD_S) if rate_limited else None
    server = PmTestServer(database=database, rate_limit=limit)
    await server.start()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(json.dumps({"url": server.url}), flush=True)
    try:
        while line := await reader.readline():
            command = json.loads(line)
            try:
                reply = await _apply(server, command)
            except Exception as exc:  # reported to the parent, which decides
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply), flush=True)
    finally:
        await server.stop()


async def _apply(server: Any, command: dict[str, Any]) -> dict[str, Any]:
    op = command["op"]
    faults = server.faults
    if op == "drop":
        await faults.drop_all()
    elif op == "restart":
        await server.stop()
        await asyncio.sleep(float(command["down_s"]))
        await server.start()
    elif op == "swallow":
        faults.swallow_answers(int(command["n"]))
    elif op == "fail":
        faults.fail_requests(
            int(command["n"]), code=ErrorCode.SERVICE_UNAVAILABLE, message="Retry after 1 seconds"
        )
    elif op == "malformed":
        await faults.send_malformed()
    elif op == "clear":
        faults.clear()
    elif op == "items":
        items = server.work_items(command["project_id"])
        return {"items": {item.id: item.version for item in items}}
    elif op == "counters":
        counters = server.counters
        return {
            "creates_applied": counters.creates_applied,
            "replays_served": counters.replays_served,
            "handshakes_accepted": counters.handshakes_accepted,
            "rate_limited": counters.rate_limited,
            "rate_limit_closes": counters.rate_limit_closes,
        }
    else:
        raise ValueError(f"unknown command {op!r}")
    return {"ok": True}


# -- the client stack ----------------------------------------------------------------------------

#: The demo's layer over the user's settings (``ProjectManagement`` keys): timings sized for a fault
#: every second or so. appsettings.json's defaults (30 s open breaker, 1 s first reconnect delay)
#: suit production; here they would show waiting, not recovery. Everything not named here (Telemetry,
#: message limits, jitter, ...) stays as the user configured it.
_DEMO_TIMINGS: Final[Mapping[str, Mapping[str, object]]] = {
    "WebSocket": {
        "RequestTimeout": timedelta(seconds=1),
        "HeartbeatInterval": timedelta(seconds=2),
        "HeartbeatTimeout": timedelta(seconds=5),
        "ConnectTimeout": timedelta(seconds=2),
    },
    "CircuitBreaker": {
        "FailureThreshold": 5,
        "FailureWindow": timedelta(seconds=10),
        "OpenDuration": timedelta(milliseconds=500),
        "HalfOpenSuccessThreshold": 1,
    },
    "RetryPolicy": {
        "MaxAttempts": 4,
        "InitialDelay": timedelta(milliseconds=50),
        "MaxDelay": timedelta(milliseconds=500),
    },
    "Reconnection": {
        "MaxAttempts": None,
        "InitialDelay": timedelta(milliseconds=50),
        "MaxDelay": timedelta(seconds=1),
        "StableAfter": timedelta(seconds=2),
    },
    # The embedded server's own limit: a client that knows its server's limit is never refused.
    "RateLimit": {"Burst": DEMO_RATE_LIMIT_BURST, "Period": timedelta(seconds=DEMO_RATE_LIMIT_PERIOD_S)},
}


def demo_settings(
    server_url: str,
    user_id: UUID,
    base: AppSettings | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> AppSettings:
    """``base`` (the user's settings; code defaults when None) with the demo's own layer on top.

    The demo's layer: its embedded server (``ServerUrl``; no ``AuthToken`` or ``CaFile``, as that
    server runs in open mode on plain ws://, so a real token is never sent to it), its ``UserId``, and
    demo-sized timings. ``overrides`` (an ``AppSettings`` document, PascalCase keys) goes last.

    Raises:
        pydantic.ValidationError: an override makes the settings invalid.
    """
    document = (base or AppSettings()).as_appsettings(reveal_secrets=True)
    demo = {
        "ProjectManagement": {
            **_DEMO_TIMINGS,
            "WebSocket": {
                **_DEMO_TIMINGS["WebSocket"],
                "ServerUrl": server_url,
                "UserId": str(user_id),
                "AuthToken": None,
                "CaFile": None,
            },
        }
    }
    for layer in (demo, overrides or {}):
        _merge_into(document, layer)
    return AppSettings.model_validate(document)


def _merge_into(target: dict[str, Any], layer: Mapping[str, Any]) -> None:
    """Per-key deep merge (sections merge, anything else replaces), as settings layers combine."""
    for key, value in layer.items():
        if isinstance(value, Mapping):
            if not isinstance(target.get(key), dict):
                target[key] = {}
            _merge_into(target[key], value)
        else:
            target[key] = value


@dataclass(eq=False)
class ResilientStack:
    """One client graph from ``create_container(settings)``, with the counters the demo reports.

    The container builds every component (inner client, breaker, retry policy, reconnection service,
    resilient client, stores) and owns their lifecycle; this only observes them. The retry policy
    gets a classifier that counts (the policy asks only while attempts remain, so each True is one
    retry), and ``reconnect_sleep`` replaces the reconnection service's sleep alone (the recovery
    benchmark records the backoff it dictates). Start with ``await stack.start()``.
    """

    container: PmContainer
    reconnect_sleep: InitVar[SleepFunction | None] = None
    retries: int = 0
    breaker_trips: int = 0
    reconnects: int = 0
    inner: WebSocketClient = field(init=False)
    breaker: CircuitBreaker = field(init=False)
    reconnection: ReconnectionService = field(init=False)
    client: ResilientWebSocketClient = field(init=False)
    #: The container's store, attached to the reconnection service's resyncs.
    work_items: WorkItemStore = field(init=False)

    def __post_init__(self, reconnect_sleep: SleepFunction | None) -> None:
        # Provider arguments first: the components are created on first use, just below.
        self.container.retry_policy.add_kwargs(is_retryable=self._counting_is_transient)
        if reconnect_sleep is not None:
            self.container.reconnection.add_kwargs(sleep=reconnect_sleep)
        self.inner = self.container.inner_client()
        self.breaker = self.container.circuit_breaker()
        self.reconnection = self.container.reconnection()
        self.client = self.container.client()
        self.work_items = self.container.work_items()
        self.breaker.on_state_changed.subscribe(self._on_breaker)
        self.reconnection.on_reconnected.subscribe(self._on_reconnected)

    async def start(self) -> None:
        """The container's resources: telemetry pipeline, then connect (reconnection already watching)."""
        await _awaited(self.container.init_resources())

    async def aclose(self) -> None:
        """Close stores, reconnection and client, then flush and stop the telemetry pipeline."""
        await _awaited(self.container.shutdown_resources())

    def _counting_is_transient(self, exc: BaseException) -> bool:
        transient = is_transient(exc)
        if transient:
            self.retries += 1
        return transient

    def _on_breaker(self, change: CircuitStateChange) -> None:
        if change.current is CircuitState.OPEN:
            self.breaker_trips += 1

    def _on_reconnected(self, _result: ReconnectionResult) -> None:
        self.reconnects += 1


def build_resilient_stack(
    settings: AppSettings, *, reconnect_sleep: SleepFunction | None = None
) -> ResilientStack:
    """The client graph of ``settings`` (usually ``demo_settings(...)``) from the DI container, not started."""
    return ResilientStack(create_container(settings), reconnect_sleep)


async def _awaited(result: Awaitable[object] | None) -> None:
    """dependency-injector returns an awaitable only when some resource is async: await it then."""
    if result is not None:
        await result


# -- report ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChaosCheck:
    """One correctness check of the run."""

    name: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ChaosProgress:
    """What ``on_progress`` receives about once a second during the run."""

    elapsed_s: float
    duration_s: float
    acknowledged: int
    failed: int
    faults_injected: int
    reconnects: int
    retries: int = 0
    breaker_trips: int = 0
    #: The writer's connection state and circuit state (``ConnectionState``/``CircuitState`` values).
    connection_state: str = ""
    breaker_state: str = ""


@dataclass(frozen=True, slots=True)
class ChaosEvent:
    """One thing that happened during the run, as it happened (``on_event``): for a live view or a plot.

    ``kind`` and ``name``: ``"operation"`` (name: create/update/delete; ``duration_s`` its latency,
    ``ok`` whether it was acknowledged, ``detail`` the failure reason), ``"fault"`` (name: the fault
    kind, ``amount`` as in ``Fault``), ``"connection"`` (name: the writer's new ``ConnectionState``),
    ``"breaker"`` (name: the writer's new ``CircuitState``), ``"reconnected"`` (name: ``"writer"`` or
    ``"subscriber"``; ``amount``: items resynced). ``at_s``: seconds since the chaos phase started
    (0 before it). Nothing is recorded when no ``on_event`` is given, so a soak's memory stays flat.
    """

    at_s: float
    kind: str
    name: str
    ok: bool = True
    duration_s: float = 0.0
    amount: float = 0.0
    detail: str = ""


@dataclass
class ChaosReport:
    """Everything one run did and found. ``passed`` is True when every check passed."""

    seed: int
    duration_s: float
    workers: int
    acknowledged: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    settled: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    frames_dropped: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    breaker_trips: int = 0
    reconnects: int = 0
    subscriber_reconnects: int = 0
    server_items: int = 0
    expected_items: int = 0
    server_replays: int = 0
    #: The server's rate limit, as the output states it.
    rate_limit: str = (
        f"{DEMO_RATE_LIMIT_BURST} frames, then 1 per {DEMO_RATE_LIMIT_PERIOD_S * 1000:g} ms, per connection"
    )
    #: Frames the server refused (warnings the clients received) and connections it kicked (1008).
    rate_limit_refusals: int = 0
    rate_limit_closes: int = 0
    #: Sends that waited for a rate-limit slot, and the seconds they waited in all (both clients).
    throttled_sends: int = 0
    throttled_s: float = 0.0
    #: Sends refused by the clients' own limiter: their slot was further away than RequestTimeout.
    rate_limit_fail_fasts: int = 0
    operations_measured: int = 0
    rss_growth_bytes: int | None = None
    elapsed_s: float = 0.0
    checks: list[ChaosCheck] = field(default_factory=list)

    @property
    def operations(self) -> int:
        """Operations attempted during the chaos (acknowledged + failed)."""
        return sum(self.acknowledged.values()) + sum(self.failed.values())

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed_checks(self) -> list[ChaosCheck]:
        return [check for check in self.checks if not check.passed]

    @property
    def rss_mb_per_100k_operations(self) -> float | None:
        """RSS growth from warm-up to the end, scaled to 100,000 operations."""
        if self.rss_growth_bytes is None or self.operations_measured <= 0:
            return None
        return self.rss_growth_bytes / (1024 * 1024) * 100_000 / self.operations_measured


def rss_bytes() -> int | None:
    """Resident set size of this process: /proc/self/statm, else psutil when installed, else None."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        psutil = importlib.import_module("psutil")  # optional (the bench extra), untyped
    except ImportError:
        return None
    return int(psutil.Process().memory_info().rss)


# -- the run ---------------------------------------------------------------------------------------


class _UnretrievedWatch(logging.Handler):
    """Catches asyncio's 'exception was never retrieved' reports, from the log and the loop."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if _UNRETRIEVED in message:
            self.messages.append(message)

    @contextlib.contextmanager
    def installed(self, loop: asyncio.AbstractEventLoop) -> Iterator[None]:
        asyncio_log = logging.getLogger("asyncio")
        previous = loop.get_exception_handler()

        def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            if _UNRETRIEVED in str(context.get("message", "")):
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


@dataclass
class _Ledger:
    """What the workers know, in memory that does not grow with the run.

    Instead of the set of live ids, a count and a checksum (the sum of the ids' 128-bit values):
    a lost, duplicated or foreign item changes one or the other, and the soak's memory figure
    measures the client, not this bookkeeping. Operations whose outcome the chaos hid wait per
    worker until re-sent: a create with its original message_id (the server de-duplicates it), a
    delete again (NOT_FOUND then means the lost attempt had applied).
    """

    items: int = 0
    checksum: int = 0
    unknown_creates: dict[int, list[tuple[str, CreateWorkItemRequest]]] = field(default_factory=dict)
    unknown_deletes: dict[int, list[UUID]] = field(default_factory=dict)

    def created(self, item_id: UUID) -> None:
        self.items += 1
        self.checksum = (self.checksum + item_id.int) % _CHECKSUM_MODULUS

    def deleted(self, item_id: UUID) -> None:
        self.items -= 1
        self.checksum = (self.checksum - item_id.int) % _CHECKSUM_MODULUS


def checksum_of(item_ids: Iterable[UUID]) -> int:
    """The ledger's checksum of a set of ids."""
    return sum(item_id.int for item_id in item_ids) % _CHECKSUM_MODULUS


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ServerRejectedException) and not isinstance(exc, VersionConflictException):
        return f"ServerRejected {exc.code}"
    return type(exc).__name__


async def _wait_connected(stack: ResilientStack, deadline: float) -> None:
    while stack.inner.state is not ConnectionState.CONNECTED or stack.reconnection.is_reconnecting:
        if time.monotonic() > deadline:
            raise TimeoutError(f"client not connected (state {stack.inner.state})")
        if stack.reconnection.is_reconnecting:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await stack.reconnection.wait_idle()
        else:
            await asyncio.sleep(0.05)  # Disconnected without a loop: poll, bounded by the deadline


class _Run:
    """One chaos run; ``run_chaos`` is its public face."""

    def __init__(
        self,
        duration_s: float,
        seed: int,
        workers: int,
        on_progress: Callable[[ChaosProgress], None] | None,
        workdir: Path,
        on_event: Callable[[ChaosEvent], None] | None = None,
        settings: AppSettings | None = None,
        rate_limited: bool = True,
    ) -> None:
        self.duration_s = duration_s
        self.rate_limited = rate_limited
        self.seed = seed
        self.workers = workers
        self.on_progress = on_progress
        self.on_event = on_event
        self.settings = settings
        self.workdir = workdir
        self.report = ChaosReport(seed=seed, duration_s=duration_s, workers=workers)
        if not rate_limited:
            self.report.rate_limit = "off"
        self.ledger = _Ledger()
        self.user_id = uuid.UUID(int=random.Random(seed).getrandbits(128), version=4)
        self.stop = asyncio.Event()
        self.writer: ResilientStack | None = None  # set when the chaos starts (the read burst uses it)
        self.project_id: UUID | None = None
        self.server = ServerProcess(
            workdir / "chaos.db", workdir / "server.stderr", rate_limited=rate_limited
        )
        self.started = 0.0

    def check(self, name: str, passed: bool, detail: str = "") -> None:
        self.report.checks.append(ChaosCheck(name, passed, detail))

    def event(self, kind: str, name: str, **fields: Any) -> None:
        """Hand one ``ChaosEvent`` to ``on_event``; a failing observer is logged, never breaks the run."""
        if self.on_event is None:
            return
        at_s = time.monotonic() - self.started if self.started else 0.0
        try:
            self.on_event(ChaosEvent(at_s, kind, name, **fields))
        except Exception:
            _log.exception("on_event failed")

    def _observe(self, writer: ResilientStack, subscriber: ResilientStack) -> None:
        """Forward the stacks' own events (connection, breaker, reconnects) to ``on_event``."""
        if self.on_event is None:
            return
        writer.inner.on_state_changed.subscribe(lambda c: self.event("connection", c.current.value))
        writer.breaker.on_state_changed.subscribe(lambda c: self.event("breaker", c.current.value))
        for name, stack in (("writer", writer), ("subscriber", subscriber)):

            def on_reconnected(result: ReconnectionResult, name: str = name) -> None:
                self.event("reconnected", name, amount=float(result.resynced_items))

            stack.reconnection.on_reconnected.subscribe(on_reconnected)

    async def execute(self) -> ChaosReport:
        baseline_tasks = asyncio.all_tasks()
        watch = _UnretrievedWatch()
        with watch.installed(asyncio.get_running_loop()):
            await self.server.start()
            try:
                await self._with_server()
            finally:
                code = await self.server.aclose()
                self.check("server process exited cleanly", code == 0, f"exit code {code}")
            gc.collect()  # unretrieved task exceptions are reported when their task is collected
            await asyncio.sleep(0)
        leftover = [t for t in asyncio.all_tasks() - baseline_tasks if t is not asyncio.current_task()]
        self.check("no task left running", not leftover, ", ".join(sorted(t.get_name() for t in leftover)))
        self.check(
            "no unretrieved task exception (client)", not watch.messages, "; ".join(watch.messages[:3])
        )
        server_log = (self.workdir / "server.stderr").read_text(errors="replace")
        self.check(
            "no unretrieved task exception (server process)",
            _UNRETRIEVED not in server_log,
            server_log[-500:] if _UNRETRIEVED in server_log else "",
        )
        return self.report

    def _stack(self, role: str) -> ResilientStack:
        """A client from the container, over the user's settings with the demo's layer on top.

        ``pm.demo.client`` (writer or subscriber) on the telemetry resource keeps the two clients'
        metric streams apart at a collector.
        """
        role_attribute: dict[str, Any] = {
            "ProjectManagement": {"Telemetry": {"ResourceAttributes": {"pm.demo.client": role}}}
        }
        if not self.rate_limited:
            role_attribute["ProjectManagement"]["RateLimit"] = {"Burst": None}
        return build_resilient_stack(
            demo_settings(self.server.url, self.user_id, self.settings, overrides=role_attribute)
        )

    async def _with_server(self) -> None:
        writer = self._stack("writer")
        subscriber = self._stack("subscriber")
        store = subscriber.work_items
        self._observe(writer, subscriber)
        try:
            await writer.start()
            await subscriber.start()
            project = await writer.client.create_project(
                CreateProjectRequest(key="CHAOS", title=f"Chaos soak, seed {self.seed}")
            )
            await subscriber.client.subscribe([project.id])
            await store.load_project(project.id)
            await self._chaos(writer, project.id)
            await self.server.command("clear")
            deadline = time.monotonic() + _SETTLE_TIMEOUT_S
            try:
                await _wait_connected(writer, deadline)
                await _wait_connected(subscriber, deadline)
                await self._settle(writer, deadline)
            except (TimeoutError, ProjectManagementException) as exc:
                self.check("every hidden outcome resolved after the chaos", False, repr(exc))
            else:
                settled = sum(self.report.settled.values())
                self.check(
                    "every hidden outcome resolved after the chaos", True, f"{settled} settled at the end"
                )
            await self._verify(writer, subscriber, store, project.id)
        finally:
            await subscriber.aclose()
            await writer.aclose()
            report = self.report
            report.retries = writer.retries + subscriber.retries
            report.breaker_trips = writer.breaker_trips + subscriber.breaker_trips
            report.reconnects = writer.reconnects
            report.subscriber_reconnects = subscriber.reconnects
            report.frames_dropped = Counter(writer.inner.frames_dropped) + Counter(
                subscriber.inner.frames_dropped
            )
            for stack in (writer, subscriber):
                limiter = stack.container.rate_limiter()
                report.rate_limit_refusals += limiter.refusals_seen
                report.throttled_sends += limiter.waits
                report.throttled_s += limiter.throttled_seconds
                report.rate_limit_fail_fasts += limiter.fail_fasts

    # -- chaos phase -----------------------------------------------------------------------------
    async def _chaos(self, writer: ResilientStack, project_id: UUID) -> None:
        self.started = time.monotonic()
        self.writer, self.project_id = writer, project_id
        warmup_s = min(10.0, self.duration_s * 0.2)
        async with asyncio.TaskGroup() as group:
            for index in range(self.workers):
                group.create_task(self._worker(writer, project_id, index), name=f"chaos-worker-{index}")
            group.create_task(
                self._inject(fault_schedule(self.duration_s, self.seed, rate_limit_phase=self.rate_limited)),
                name="chaos-faults",
            )
            group.create_task(self._clock(writer, warmup_s), name="chaos-clock")

    async def _clock(self, writer: ResilientStack, warmup_s: float) -> None:
        """Ends the chaos phase on time, samples memory after warm-up, reports progress."""
        rss_start: int | None = None
        ops_start = 0
        next_progress = self.started
        while (elapsed := time.monotonic() - self.started) < self.duration_s:
            if rss_start is None and elapsed >= warmup_s:
                gc.collect()
                rss_start, ops_start = rss_bytes(), self.report.operations
            if self.on_progress is not None and time.monotonic() >= next_progress:
                next_progress += 1.0
                self._progress(writer, elapsed)
            await asyncio.sleep(min(0.1, max(0.0, self.duration_s - elapsed)))
        self.stop.set()
        gc.collect()
        rss_end = rss_bytes()
        if rss_start is not None and rss_end is not None:
            self.report.rss_growth_bytes = rss_end - rss_start
            self.report.operations_measured = self.report.operations - ops_start
        if self.on_progress is not None:
            self._progress(writer, self.duration_s)

    def _progress(self, writer: ResilientStack, elapsed: float) -> None:
        assert self.on_progress is not None
        report = self.report
        try:
            self.on_progress(
                ChaosProgress(
                    elapsed_s=elapsed,
                    duration_s=self.duration_s,
                    acknowledged=sum(report.acknowledged.values()),
                    failed=sum(report.failed.values()),
                    faults_injected=sum(report.faults.values()),
                    reconnects=writer.reconnects,
                    retries=writer.retries,
                    breaker_trips=writer.breaker_trips,
                    connection_state=writer.inner.state.value,
                    breaker_state=writer.breaker.peek_state().value,
                )
            )
        except Exception:
            _log.exception("on_progress failed")

    async def _inject(self, schedule: Sequence[Fault]) -> None:
        commands: dict[str, Callable[[Fault], dict[str, Any]]] = {
            "drop_connections": lambda f: {"op": "drop"},
            "restart_server": lambda f: {"op": "restart", "down_s": f.amount},
            "swallow_answers": lambda f: {"op": "swallow", "n": int(f.amount)},
            "error_burst": lambda f: {"op": "fail", "n": int(f.amount)},
            "malformed_frame": lambda f: {"op": "malformed"},
        }
        bursts: list[asyncio.Task[None]] = []
        for fault in schedule:
            wait = self.started + fault.at_s - time.monotonic()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self.stop.wait()
            if self.stop.is_set():
                return
            self.event("fault", fault.kind, amount=fault.amount)
            if fault.kind == "rate_limit_burst":
                bursts.append(asyncio.create_task(self._read_burst(fault.amount), name="chaos-read-burst"))
            else:
                await self.server.command(**commands[fault.kind](fault))
            self.report.faults[fault.kind] += 1
        if bursts:
            await asyncio.gather(*bursts)

    async def _read_burst(self, seconds: float) -> None:
        """Readers beyond the rate limit through the writer's client (not its breaker: the phase is
        about pacing). Their reads wait for slots or fail fast; other failures are the chaos's."""
        assert self.writer is not None
        assert self.project_id is not None
        client, project_id = self.writer.inner, self.project_id
        deadline = time.monotonic() + seconds

        async def reader() -> None:
            while time.monotonic() < deadline and not self.stop.is_set():
                try:
                    await client.get_work_items(project_id)
                except ProjectManagementException:
                    await asyncio.sleep(0.01)

        await asyncio.gather(*(reader() for _ in range(_BURST_READERS)))

    async def _worker(self, writer: ResilientStack, project_id: UUID, index: int) -> None:
        rng = random.Random(self.seed * 1_000_003 + index)
        client = writer.client
        owned: dict[UUID, int] = {}  # acknowledged item -> last known version
        creates = self.ledger.unknown_creates.setdefault(index, [])
        deletes = self.ledger.unknown_deletes.setdefault(index, [])
        serial = 0
        while not self.stop.is_set():
            serial += 1
            roll = rng.random()
            if creates:
                kind = "create (re-sent)"
            elif deletes:
                kind = "delete (re-sent)"
            elif not owned or (len(owned) < _MAX_OWNED_ITEMS and roll < 0.4):
                kind = "create"
            elif roll < 0.75:
                kind = "update"
            else:
                kind = "delete"
            began = time.monotonic()
            try:
                if kind == "create (re-sent)":
                    await self._resend_create(client, creates, owned)
                elif kind == "delete (re-sent)":
                    await self._resend_delete(client, deletes)
                elif kind == "create":
                    await self._create(client, project_id, index, serial, owned)
                elif kind == "update":
                    await self._update(client, rng, index, serial, owned)
                else:
                    await self._delete(client, rng, owned, index)
                self.report.acknowledged[kind] += 1
                self.event("operation", kind, duration_s=time.monotonic() - began)
            except Exception as exc:
                self.report.failed[f"{kind}: {_reason(exc)}"] += 1
                self.event(
                    "operation", kind, ok=False, duration_s=time.monotonic() - began, detail=_reason(exc)
                )
                pause = (
                    min(exc.retry_after.total_seconds(), 1.0)
                    if isinstance(exc, CircuitOpenException | RateLimitExceededException)
                    else 0.02
                )
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(pause):
                        await self.stop.wait()

    async def _create(
        self,
        client: ResilientWebSocketClient,
        project_id: UUID,
        index: int,
        serial: int,
        owned: dict[UUID, int],
    ) -> None:
        request = CreateWorkItemRequest(
            project_id=project_id, item_type=WorkItemType.STORY, title=f"chaos w{index} #{serial}"
        )
        message_id = str(uuid.uuid4())
        try:
            item = await client.create_work_item(request, message_id=message_id)
        except CircuitOpenException:
            raise  # refused before sending: certainly not applied, nothing to settle
        except Exception:
            # Applied or not? Only the server knows: re-sent later with the same message_id.
            self.ledger.unknown_creates[index].append((message_id, request))
            raise
        self.ledger.created(item.id)
        owned[item.id] = item.version

    async def _resend_create(
        self,
        client: ResilientWebSocketClient,
        creates: list[tuple[str, CreateWorkItemRequest]],
        owned: dict[UUID, int] | None = None,
    ) -> None:
        message_id, request = creates[0]
        item = await client.create_work_item(request, message_id=message_id)
        creates.pop(0)
        self.ledger.created(item.id)
        if owned is not None:
            owned[item.id] = item.version

    async def _update(
        self,
        client: ResilientWebSocketClient,
        rng: random.Random,
        index: int,
        serial: int,
        owned: dict[UUID, int],
    ) -> None:
        item_id = rng.choice(list(owned))
        request = UpdateWorkItemRequest(
            work_item_id=item_id, expected_version=owned[item_id], title=f"chaos w{index} #{serial} (edited)"
        )
        try:
            item = await client.update_work_item(request)
        except VersionConflictException as exc:
            # An earlier update applied though its answer was lost: learn the version, carry on.
            if exc.current_version is not None:
                owned[item_id] = exc.current_version
            else:
                del owned[item_id]
            raise
        owned[item_id] = item.version

    async def _delete(
        self, client: ResilientWebSocketClient, rng: random.Random, owned: dict[UUID, int], index: int
    ) -> None:
        item_id = rng.choice(list(owned))
        del owned[item_id]  # never updated again by this worker, whatever happens
        try:
            await client.delete_work_item(item_id)
        except CircuitOpenException:
            raise  # refused before sending: the item certainly stays, and the ledger still counts it
        except Exception:
            self.ledger.unknown_deletes[index].append(item_id)
            raise
        self.ledger.deleted(item_id)

    async def _resend_delete(self, client: ResilientWebSocketClient, deletes: list[UUID]) -> None:
        item_id = deletes[0]
        try:
            await client.delete_work_item(item_id)
        except ServerRejectedException as exc:
            if exc.code != ErrorCode.NOT_FOUND:
                raise  # NOT_FOUND: the attempt whose answer was lost had deleted it
        deletes.pop(0)
        self.ledger.deleted(item_id)

    # -- settle and verify -----------------------------------------------------------------------
    async def _settle(self, writer: ResilientStack, deadline: float) -> None:
        """Resolve every hidden outcome still waiting, now that the faults have stopped."""
        client = writer.client
        for creates in self.ledger.unknown_creates.values():
            while creates:
                await _until_done(functools.partial(self._resend_create, client, creates), deadline)
                self.report.settled["create"] += 1
        for deletes in self.ledger.unknown_deletes.values():
            while deletes:
                await _until_done(functools.partial(self._resend_delete, client, deletes), deadline)
                self.report.settled["delete"] += 1

    async def _verify(
        self, writer: ResilientStack, subscriber: ResilientStack, store: WorkItemStore, project_id: UUID
    ) -> None:
        reply = await self.server.command("items", project_id=str(project_id))
        server_items = {UUID(k): int(v) for k, v in reply["items"].items()}
        self.report.server_items = len(server_items)
        self.report.expected_items = self.ledger.items
        same_ids = checksum_of(server_items) == self.ledger.checksum
        self.check(
            "server items == acknowledged creates - acknowledged deletes",
            len(server_items) == self.ledger.items and same_ids,
            f"{len(server_items)} on the server, {self.ledger.items} expected; "
            f"id checksum {'equal' if same_ids else 'DIFFERENT'}",
        )
        converged = await _converge(store, project_id, server_items)
        local = {item.id: item.version for item in store.get_by_project(project_id)}
        self.check(
            "subscriber store == server state",
            converged,
            ""
            if converged
            else f"store {len(local)} items, server {len(server_items)}; "
            f"{len(local.keys() ^ server_items.keys())} ids differ, "
            f"{sum(1 for k in local.keys() & server_items.keys() if local[k] != server_items[k])} versions differ",
        )
        for name, stack in (("writer", writer), ("subscriber", subscriber)):
            pending = stack.inner.pending_count
            self.check(f"no pending requests left ({name})", pending == 0, f"{pending} pending")
        counters = await self.server.command("counters")
        self.report.server_replays = int(counters["replays_served"])
        closes = int(counters["rate_limit_closes"])
        self.report.rate_limit_closes = closes
        self.check(
            "no 1008 close caused by the clients' own traffic",
            closes == 0,
            f"{closes} connection(s) kicked; {counters['rate_limited']} frame(s) refused",
        )


async def _until_done(operation: Callable[[], Any], deadline: float) -> Any:
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


async def _converge(store: WorkItemStore, project_id: UUID, server_items: Mapping[UUID, int]) -> bool:
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
async def _workdir() -> AsyncIterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pm-chaos-") as path:
        yield Path(path)


async def run_chaos(
    duration_s: float = 60.0,
    seed: int = 0,
    *,
    workers: int = 20,
    on_progress: Callable[[ChaosProgress], None] | None = None,
    on_event: Callable[[ChaosEvent], None] | None = None,
    settings: AppSettings | None = None,
    rate_limited: bool = True,
) -> ChaosReport:
    """Run the chaos soak for ``duration_s`` seconds with the fault schedule of ``seed``.

    ``rate_limited``: the server limits each connection (``DEMO_RATE_LIMIT_*``), the clients mirror
    it, and the schedule has a rate-limit phase; False (a throughput soak) turns all three off.

    Both clients come from the DI container, built from ``settings`` (the user's, e.g. loaded with
    ``AppSettings.load``; code defaults when None) with ``demo_settings``' layer on top: so their
    Telemetry, Logging and message limits apply to the demo as to any other use of the client.

    Returns the report; ``report.passed`` says whether every check held. Raises only for a
    broken environment (the server process cannot start); a resilience failure is a failed check.
    """
    if duration_s <= 0:
        raise ValueError("duration_s must be positive")
    if workers < 1:
        raise ValueError("workers must be >= 1")
    started = time.monotonic()
    async with _workdir() as workdir:
        run = _Run(duration_s, seed, workers, on_progress, workdir, on_event, settings, rate_limited)
        report = await run.execute()
    report.elapsed_s = time.monotonic() - started
    return report


if __name__ == "__main__" and sys.argv[1:2] == ["--control-server"]:
    asyncio.run(_control_server(sys.argv[2], rate_limited="--no-rate-limit" not in sys.argv[3:]))
