"""One chaos run: workers, the fault injector, the settle phase and the checks (``run_chaos``)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final
from uuid import UUID

from projectmanagement_core.exceptions import (
    ProjectManagementException,
)
from projectmanagement_core.models import (
    CreateProjectRequest,
)
from projectmanagement_services.demo.faults import Fault, fault_schedule
from projectmanagement_services.demo.ledger import Ledger, checksum_of
from projectmanagement_services.demo.report import (
    ChaosCheck,
    ChaosEvent,
    ChaosProgress,
    ChaosReport,
    rss_bytes,
)
from projectmanagement_services.demo.server_process import ServerProcess
from projectmanagement_services.demo.stack import ResilientStack, build_resilient_stack, demo_settings
from projectmanagement_services.demo.unretrieved import UNRETRIEVED, UnretrievedWatch
from projectmanagement_services.demo.waiting import (
    converge,
    temporary_workdir,
    until_done,
    wait_connected,
)
from projectmanagement_services.demo.workload import Workload
from projectmanagement_services.resilience.reconnection_service import ReconnectionResult
from projectmanagement_services.settings import AppSettings
from projectmanagement_services.state.work_item_store import WorkItemStore

_log = logging.getLogger(__name__)

_BURST_READERS: Final = 20
_SETTLE_TIMEOUT_S: Final = 60.0


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
        self.ledger = Ledger()
        self.user_id = uuid.UUID(int=random.Random(seed).getrandbits(128), version=4)
        self.stop = asyncio.Event()
        self.workload = Workload(seed, self.ledger, self.report, self.stop, self.event)
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
        watch = UnretrievedWatch()
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
            UNRETRIEVED not in server_log,
            server_log[-500:] if UNRETRIEVED in server_log else "",
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
                await wait_connected(writer, deadline)
                await wait_connected(subscriber, deadline)
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
                group.create_task(
                    self.workload.worker(writer.client, project_id, index), name=f"chaos-worker-{index}"
                )
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

    # -- settle and verify -----------------------------------------------------------------------
    async def _settle(self, writer: ResilientStack, deadline: float) -> None:
        """Resolve every hidden outcome still waiting, now that the faults have stopped."""
        client = writer.client
        for creates in self.ledger.unknown_creates.values():
            while creates:
                await until_done(functools.partial(self.workload.resend_create, client, creates), deadline)
                self.report.settled["create"] += 1
        for deletes in self.ledger.unknown_deletes.values():
            while deletes:
                await until_done(functools.partial(self.workload.resend_delete, client, deletes), deadline)
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
        converged = await converge(store, project_id, server_items)
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
    async with temporary_workdir() as workdir:
        run = _Run(duration_s, seed, workers, on_progress, workdir, on_event, settings, rate_limited)
        report = await run.execute()
    report.elapsed_s = time.monotonic() - started
    return report
