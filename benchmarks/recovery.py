"""Recovery after a server outage: how long past the dictated backoff until the client is whole again.

Run: ``python benchmarks/recovery.py`` (``--quick`` one outage of each length, ``--smoke`` for CI).

A ``PmTestServer`` on a file database (data survives the restart) serves one resilient client
(built by the DI container from the demo's settings: WebSocketClient, CircuitBreaker, RetryPolicy,
ReconnectionService, and its WorkItemStore attached for resync) subscribed to a project of 20
items, while 10 tasks create and delete items through it. The server is stopped for T in {0.5, 2, 5} s and started again.

Measured per outage: from the server being back to the client being Connected, re-subscribed and
resynced (``on_reconnected``), minus the wait the reconnection backoff dictated: the reconnect
attempt that succeeds was scheduled by the configuration (its delay is recorded when the service
asks to sleep), so ``overhead = ready - max(server back, dictated attempt time)``. Target: under
50 ms. Also the operations that failed during each outage, by reason. Small backoff settings keep
the schedule short and known: reconnect delays 50, 100, 200, 400, 400 ... ms (+0-25 % jitter).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import _harness as h

from projectmanagement_core.exceptions import CircuitOpenException
from projectmanagement_core.models import (
    ConnectionState,
    ConnectionStateChange,
    CreateProjectRequest,
    CreateWorkItemRequest,
    WorkItemType,
)
from projectmanagement_services.demo import ResilientStack, build_resilient_stack, demo_settings
from projectmanagement_services.resilience import CircuitBreakerOptions, ReconnectionOptions
from projectmanagement_services.resilience.reconnection_service import ReconnectionResult
from projectmanagement_services.state import WorkItemStore
from projectmanagement_services.testing import PmTestServer

__all__ = ["main"]

OUTAGES_S = (0.5, 2.0, 5.0)
SMOKE_OUTAGES_S = (0.3,)
WORKERS = 10
SEED_ITEMS = 20
STEADY_S = 1.0  # normal operation between outages (> stable_after: each outage starts at step 0)
TARGET_MS = 50.0
READY_TIMEOUT_S = 30.0

RECONNECTION = ReconnectionOptions(
    max_attempts=None,
    initial_delay=timedelta(milliseconds=50),
    max_delay=timedelta(milliseconds=400),
    backoff_multiplier=2.0,
    stable_after=timedelta(milliseconds=500),
)
BREAKER = CircuitBreakerOptions(
    failure_threshold=5,
    failure_window=timedelta(seconds=10),
    open_duration=timedelta(milliseconds=300),
    half_open_success_threshold=1,
)


class RecordingSleep:
    """The reconnection service's sleep: records when each backoff wait was due to end."""

    def __init__(self) -> None:
        self.due: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.due.append(time.monotonic() + seconds)
        await asyncio.sleep(seconds)


@dataclass
class Workload:
    """10 tasks creating and deleting items; failures counted by reason."""

    acknowledged: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    created: set[uuid.UUID] = field(default_factory=set)
    deleted: set[uuid.UUID] = field(default_factory=set)
    unknown_creates: int = 0
    maybe_deleted: set[uuid.UUID] = field(default_factory=set)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def worker(self, stack: ResilientStack, project_id: uuid.UUID, index: int) -> None:
        client = stack.client
        serial = 0
        while not self.stop.is_set():
            serial += 1
            request = CreateWorkItemRequest(
                project_id=project_id, item_type=WorkItemType.TASK, title=f"recovery w{index} #{serial}"
            )
            try:
                item = await client.create_work_item(request)
            except Exception as exc:
                self.unknown_creates += 1  # applied or not: only the server knows
                await self.failure(exc)
                continue
            self.created.add(item.id)
            self.acknowledged += 1
            try:
                await client.delete_work_item(item.id)
            except Exception as exc:
                self.maybe_deleted.add(item.id)
                await self.failure(exc)
                continue
            self.deleted.add(item.id)
            self.acknowledged += 1

    async def failure(self, exc: Exception) -> None:
        self.failed[type(exc).__name__] += 1
        pause = min(exc.retry_after.total_seconds(), 0.2) if isinstance(exc, CircuitOpenException) else 0.02
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(pause):
                await self.stop.wait()


@dataclass(frozen=True)
class Outage:
    down_s: float
    attempts: int
    dictated_wait_s: float  # from server back to the scheduled time of the successful attempt
    to_connected_s: float  # from server back (or the dictated attempt, if later) to Connected
    overhead_s: float  # from max(server back, dictated attempt) to Connected + re-subscribed + resynced
    resynced_items: int
    failed: Counter[str]
    acknowledged: int


async def one_outage(
    server: PmTestServer, stack: ResilientStack, sleep: RecordingSleep, load: Workload, down_s: float
) -> Outage:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[tuple[float, ReconnectionResult]] = loop.create_future()
    connected_at: list[float] = []

    def on_reconnected(result: ReconnectionResult) -> None:
        if not ready.done():
            ready.set_result((time.monotonic(), result))

    def on_state(change: ConnectionStateChange) -> None:
        if change.current is ConnectionState.CONNECTED:
            connected_at.append(time.monotonic())

    stack.reconnection.on_reconnected.subscribe(on_reconnected)
    stack.inner.on_state_changed.subscribe(on_state)
    failed_before, acked_before = Counter(load.failed), load.acknowledged
    try:
        await server.stop()
        await asyncio.sleep(down_s)  # the outage itself: its length is the independent variable
        await server.start()
        back = time.monotonic()
        async with asyncio.timeout(READY_TIMEOUT_S):
            ready_at, result = await ready
        await asyncio.sleep(STEADY_S)  # let the breaker close and work resume before counting
    finally:
        stack.reconnection.on_reconnected.unsubscribe(on_reconnected)
        stack.inner.on_state_changed.unsubscribe(on_state)
    attempt_due = max((due for due in sleep.due if due <= ready_at), default=back)
    start = max(back, attempt_due)
    connected = max((t for t in connected_at if t <= ready_at), default=ready_at)
    return Outage(
        down_s=down_s,
        attempts=result.attempts,
        dictated_wait_s=max(0.0, attempt_due - back),
        to_connected_s=connected - start,
        overhead_s=ready_at - start,
        resynced_items=result.resynced_items,
        failed=load.failed - failed_before,
        acknowledged=load.acknowledged - acked_before,
    )


async def run(scale: h.Scale, outages: tuple[float, ...], repetitions: int) -> int:
    checks = h.Checks()
    h.print_header("recovery", scale, f"outages={outages} repetitions={repetitions} workers={WORKERS}")
    results: list[Outage] = []
    baseline_tasks = asyncio.all_tasks()
    with tempfile.TemporaryDirectory(prefix="pm-recovery-") as workdir:
        # Recovery time, not throttling, is measured: no rate limit on either side.
        server = PmTestServer(database=Path(workdir) / "recovery.db", rate_limit=None)
        await server.start()
        sleep = RecordingSleep()
        settings = demo_settings(
            server.url,
            uuid.uuid4(),
            overrides={
                "ProjectManagement": {
                    "CircuitBreaker": BREAKER.model_dump(by_alias=True),
                    "Reconnection": RECONNECTION.model_dump(by_alias=True),
                    "RateLimit": {"Burst": None},
                }
            },
        )
        stack = build_resilient_stack(settings, reconnect_sleep=sleep)
        store = stack.work_items
        load = Workload()
        try:
            await stack.start()
            project = await stack.client.create_project(CreateProjectRequest(key="RECOV", title="Recovery"))
            for n in range(SEED_ITEMS):
                item = await stack.client.create_work_item(
                    CreateWorkItemRequest(
                        project_id=project.id, item_type=WorkItemType.STORY, title=f"seed {n}"
                    )
                )
                load.created.add(item.id)
            await stack.client.subscribe([project.id])
            await store.load_project(project.id)
            async with asyncio.TaskGroup() as group:
                for index in range(WORKERS):
                    group.create_task(load.worker(stack, project.id, index))
                try:
                    await asyncio.sleep(STEADY_S)
                    for _ in range(repetitions):
                        for down_s in outages:
                            outage = await one_outage(server, stack, sleep, load, down_s)
                            results.append(outage)
                            h.console.print(
                                f"  outage {down_s:g} s: ready {outage.overhead_s * 1000:.1f} ms past the"
                                f" dictated attempt ({outage.attempts} attempts), {sum(outage.failed.values())} failed"
                            )
                finally:
                    load.stop.set()
            checks.expect(load.acknowledged > 0, "the workload made progress")
            await verify(server, stack, store, project.id, load, checks)
        finally:
            await stack.aclose()
            await server.__aexit__(None, None, None)
    leftover = [t for t in asyncio.all_tasks() - baseline_tasks if t is not asyncio.current_task()]
    checks.expect(not leftover, f"tasks left running: {[t.get_name() for t in leftover]}")
    checks.expect(len(results) == len(outages) * repetitions, "every outage ended in a reconnect")
    report(results, scale)
    return checks.finish()


async def verify(
    server: PmTestServer,
    stack: ResilientStack,
    store: WorkItemStore,
    project_id: uuid.UUID,
    load: Workload,
    checks: h.Checks,
) -> None:
    server_ids = {uuid.UUID(item.id) for item in server.work_items(project_id)}
    # A failed delete may have applied (its answer lost): such items may be present or not.
    expected = load.created - load.deleted - load.maybe_deleted
    checks.expect(expected <= server_ids, f"{len(expected - server_ids)} acknowledged items lost")
    extra = len(server_ids - expected - load.maybe_deleted)
    checks.expect(
        extra <= load.unknown_creates,
        f"{extra} unexpected items, more than the {load.unknown_creates} creates of unknown outcome",
    )
    checks.expect(stack.inner.pending_count == 0, f"{stack.inner.pending_count} requests left pending")
    for _ in range(50):  # the last broadcasts may still be in flight: bounded wait for the store
        if {i.id for i in store.get_by_project(project_id)} == server_ids:
            break
        await asyncio.sleep(0.1)
    local = {i.id for i in store.get_by_project(project_id)}
    checks.expect(local == server_ids, f"store differs from the server by {len(local ^ server_ids)} items")


def report(results: list[Outage], scale: h.Scale) -> None:
    table = h.new_table(
        "Recovery: server back -> Connected + re-subscribed + resynced, beyond the dictated backoff"
        " (median over repetitions, min-max)",
        [
            "outage",
            "attempts",
            "dictated wait",
            "to Connected",
            "to ready",
            "to ready min - max",
            "resynced",
            "failed ops",
            "failed by reason (per outage)",
        ],
    )
    verdicts: list[h.TargetVerdict] = []
    for down_s in sorted({r.down_s for r in results}):
        rows = [r for r in results if r.down_s == down_s]

        def stats(pick: Callable[[Outage], float], rows: list[Outage] = rows) -> h.Stats:
            return h.Stats(tuple(pick(r) for r in rows))

        overhead = stats(lambda r: r.overhead_s * 1e9)
        reasons: Counter[str] = Counter()
        for r in rows:
            reasons.update(r.failed)
        table.add_row(
            f"{down_s:g} s",
            f"{stats(lambda r: r.attempts).median:g}",
            h.fmt_ns(stats(lambda r: r.dictated_wait_s * 1e9).median),
            h.fmt_ns(stats(lambda r: r.to_connected_s * 1e9).median),
            h.fmt_ns(overhead.median),
            h.fmt_range_ns(overhead.minimum, overhead.maximum),
            f"{stats(lambda r: r.resynced_items).median:g}",
            f"{stats(lambda r: sum(r.failed.values())).median:g}",
            ", ".join(f"{k} {v / len(rows):.0f}" for k, v in sorted(reasons.items())) or "-",
        )
        verdicts.append(
            h.TargetVerdict(
                f"outage {down_s:g} s: ready < {TARGET_MS:g} ms past the dictated backoff",
                f"{overhead.median / 1e6:.1f} ms (max {overhead.maximum / 1e6:.1f} ms)",
                overhead.median / 1e6 < TARGET_MS,
            )
        )
    h.console.print(table)
    h.print_targets(verdicts, scale)


def main() -> int:
    def extra(parser: Any) -> None:
        parser.add_argument("--outages", type=float, nargs="+", help="outage lengths in seconds")

    args, scale = h.parse_args("Recovery after a server outage", extra)
    outages = tuple(args.outages) if args.outages else SMOKE_OUTAGES_S if args.smoke else OUTAGES_S
    repetitions = 1 if (args.smoke or args.quick) else min(3, scale.repetitions)
    # Lost connections and breaker openings are the point here: keep the console for the tables.
    logging.basicConfig(level=logging.ERROR)
    return asyncio.run(run(scale, outages, repetitions))


if __name__ == "__main__":
    sys.exit(main())
