"""The chaos soak's workload: each worker's creates, updates and deletes, and the re-sends that settle
an operation whose outcome was hidden by a fault (the ledger tracks what the server must hold)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Callable
from typing import Final
from uuid import UUID

from projectmanagement_core.exceptions import (
    CircuitOpenException,
    ErrorCode,
    RateLimitExceededException,
    ServerRejectedException,
    VersionConflictException,
)
from projectmanagement_core.models import CreateWorkItemRequest, UpdateWorkItemRequest, WorkItemType
from projectmanagement_services.demo.ledger import Ledger
from projectmanagement_services.demo.report import ChaosReport
from projectmanagement_services.demo.waiting import reason
from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient

__all__ = ["Workload"]

_MAX_OWNED_ITEMS: Final = 5  # per worker, so resync lists stay small and memory stays flat


class Workload:
    """The workers of one run, sharing its ledger, report and stop signal."""

    def __init__(
        self,
        seed: int,
        ledger: Ledger,
        report: ChaosReport,
        stop: asyncio.Event,
        event: Callable[..., None],
    ) -> None:
        self.seed = seed
        self.ledger = ledger
        self.report = report
        self.stop = stop
        self.event = event

    async def worker(self, client: ResilientWebSocketClient, project_id: UUID, index: int) -> None:
        """Create, update and delete until ``stop``; every outcome lands in the report and ledger."""
        rng = random.Random(self.seed * 1_000_003 + index)
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
                    await self.resend_create(client, creates, owned)
                elif kind == "delete (re-sent)":
                    await self.resend_delete(client, deletes)
                elif kind == "create":
                    await self._create(client, project_id, index, serial, owned)
                elif kind == "update":
                    await self._update(client, rng, index, serial, owned)
                else:
                    await self._delete(client, rng, owned, index)
                self.report.acknowledged[kind] += 1
                self.event("operation", kind, duration_s=time.monotonic() - began)
            except Exception as exc:
                self.report.failed[f"{kind}: {reason(exc)}"] += 1
                self.event(
                    "operation", kind, ok=False, duration_s=time.monotonic() - began, detail=reason(exc)
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

    async def resend_create(
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

    async def resend_delete(self, client: ResilientWebSocketClient, deletes: list[UUID]) -> None:
        item_id = deletes[0]
        try:
            await client.delete_work_item(item_id)
        except ServerRejectedException as exc:
            if exc.code != ErrorCode.NOT_FOUND:
                raise  # NOT_FOUND: the attempt whose answer was lost had deleted it
        deletes.pop(0)
        self.ledger.deleted(item_id)
