"""ResilientWebSocketClient: breaker(retry(inner)), one message_id per operation, ambiguous answers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import pytest
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.trace import NoOpTracerProvider, SpanKind, StatusCode

from projectmanagement_core.exceptions import (
    BusinessRuleConflictException,
    CircuitOpenException,
    ConnectionException,
    RequestTimeoutException,
    ServerRejectedException,
    UpdateNotAppliedException,
    ValidationException,
    VersionConflictException,
)
from projectmanagement_core.models import (
    ConnectionState,
    CreateWorkItemRequest,
    Project,
    ProjectStatus,
    SprintStatus,
    UpdateProjectRequest,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
    WorkItemType,
)
from projectmanagement_services.resilience.circuit_breaker import CircuitBreaker, CircuitState
from projectmanagement_services.resilience.options import (
    CircuitBreakerOptions,
    ReconnectionOptions,
    RetryPolicyOptions,
)
from projectmanagement_services.resilience.reconnection_service import ReconnectionService
from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient
from projectmanagement_services.resilience.retry_policy import RetryPolicy
from projectmanagement_services.telemetry import PmTelemetry

from .fake_client import FakeClient, make_sprint, make_work_item
from .fake_time import FakeTime, ManualSleep
from .otel_capture import OtelCapture

PROJECT = uuid4()


def timeout(operation: str = "op") -> RequestTimeoutException:
    return RequestTimeoutException(operation, timedelta(seconds=1))


def conflict(entity_id: object, expected: int, current: int) -> VersionConflictException:
    return VersionConflictException(entity_id, expected, current, f"current version: {current}")


class Harness:
    """A fake inner client behind a real breaker and retry policy, on fake time."""

    def __init__(
        self,
        *,
        max_attempts: int = 3,
        failure_threshold: int = 5,
        telemetry: PmTelemetry | None = None,
        reconnection: bool = True,
    ) -> None:
        self.time = FakeTime()
        self.inner = FakeClient(state=ConnectionState.CONNECTED)
        self.breaker = CircuitBreaker(
            CircuitBreakerOptions(
                failure_threshold=failure_threshold,
                open_duration=timedelta(seconds=30),
                half_open_success_threshold=1,
            ),
            clock=self.time.clock,
            telemetry=telemetry,
        )
        self.retry = RetryPolicy(
            RetryPolicyOptions(max_attempts=max_attempts, initial_delay=timedelta(milliseconds=100)),
            sleep=self.time.sleep,
            random=lambda: 0.0,
            telemetry=telemetry,
        )
        self.reconnection = (
            ReconnectionService(
                self.inner, ReconnectionOptions(), clock=self.time.clock, sleep=self.time.sleep
            )
            if reconnection
            else None
        )
        self.client = ResilientWebSocketClient(
            self.inner, self.breaker, self.retry, reconnection=self.reconnection, telemetry=telemetry
        )


def create_request(title: str = "task") -> CreateWorkItemRequest:
    return CreateWorkItemRequest(project_id=PROJECT, item_type=WorkItemType.TASK, title=title)


# -- composition -------------------------------------------------------------------------------


async def test_every_attempt_of_one_operation_sends_the_same_message_id() -> None:
    h = Harness()
    created = make_work_item(PROJECT, title="task")
    h.inner.script("create_work_item", timeout("CreateWorkItem"), ConnectionException("lost"), created)

    result = await h.client.create_work_item(create_request())
    await h.client.create_work_item(create_request("second"))

    assert result is created
    calls = h.inner.calls_of("create_work_item")
    assert len(calls) == 4
    first_operation_ids = {c.message_id for c in calls[:3]}
    assert len(first_operation_ids) == 1
    assert None not in first_operation_ids
    assert calls[3].message_id not in first_operation_ids  # a new logical operation, a new id
    assert h.time.sleeps == pytest.approx([0.1, 0.2])


async def test_a_caller_supplied_message_id_is_kept_on_every_attempt() -> None:
    h = Harness()
    h.inner.script("get_work_items", timeout(), [])

    await h.client.get_work_items(PROJECT, message_id="9f1c1d3e-5b7a-4c1e-8d2f-0a1b2c3d4e5f")

    assert [c.message_id for c in h.inner.calls_of("get_work_items")] == [
        "9f1c1d3e-5b7a-4c1e-8d2f-0a1b2c3d4e5f"
    ] * 2


async def test_the_breaker_sees_one_failure_per_logical_operation_not_per_attempt() -> None:
    h = Harness(max_attempts=3, failure_threshold=2)
    last = timeout()
    h.inner.script("get_sprints", timeout(), timeout(), last)

    with pytest.raises(RequestTimeoutException) as raised:
        await h.client.get_sprints(PROJECT)

    assert raised.value is last  # the last attempt's error, unchanged
    assert len(h.inner.calls_of("get_sprints")) == 3
    assert h.breaker.state is CircuitState.CLOSED
    assert h.breaker.failure_count == 1

    h.inner.script("get_sprints", timeout(), timeout(), timeout())
    with pytest.raises(RequestTimeoutException):
        await h.client.get_sprints(PROJECT)
    assert h.breaker.state is CircuitState.OPEN

    with pytest.raises(CircuitOpenException):
        await h.client.get_sprints(PROJECT)
    assert len(h.inner.calls_of("get_sprints")) == 6  # the rejected call never reached the client


async def test_errors_retried_away_do_not_count_against_the_breaker() -> None:
    h = Harness(failure_threshold=1)
    h.inner.script("list_projects", timeout(), ConnectionException("lost"), [])

    assert await h.client.list_projects() == []

    assert h.breaker.state is CircuitState.CLOSED
    assert h.breaker.failure_count == 0


async def test_non_transient_errors_are_not_retried_and_pass_through_unchanged() -> None:
    h = Harness()
    refused = ServerRejectedException("UNAUTHORIZED", "not a member")
    h.inner.script("get_work_items", refused)

    with pytest.raises(ServerRejectedException) as raised:
        await h.client.get_work_items(PROJECT)

    assert raised.value is refused
    assert len(h.inner.calls_of("get_work_items")) == 1
    assert h.breaker.failure_count == 0  # a healthy server's answer


async def test_ping_goes_through_the_breaker_but_is_not_retried() -> None:
    h = Harness()
    h.inner.script("ping", timeout("Ping"))

    with pytest.raises(RequestTimeoutException):
        await h.client.ping()

    assert len(h.inner.calls_of("ping")) == 1
    assert h.breaker.failure_count == 1


# -- ambiguous answers after a lost one --------------------------------------------------------


async def test_retried_update_that_conflicts_after_a_lost_answer_returns_the_applied_item() -> None:
    h = Harness()
    item = make_work_item(PROJECT, title="old", version=1)
    applied = item.model_copy(update={"title": "new", "status": "done", "version": 2})
    h.inner.work_items[PROJECT] = [make_work_item(PROJECT), applied]
    h.client.reconnection.track_subscription([PROJECT])  # type: ignore[union-attr]
    request = UpdateWorkItemRequest(work_item_id=item.id, expected_version=1, title="new", status="done")
    h.inner.script("update_work_item", timeout(), conflict(item.id, 1, 2))

    result = await h.client.update_work_item(request)

    assert result == applied
    assert [c.name for c in h.inner.calls] == ["update_work_item", "update_work_item", "get_work_items"]
    assert h.breaker.failure_count == 0


async def test_the_entity_is_looked_for_in_every_visible_project_when_not_in_a_subscribed_one() -> None:
    h = Harness()
    other = uuid4()
    item = make_work_item(other, title="new", version=2)
    h.inner.work_items[other] = [item]
    h.client.reconnection.track_subscription([PROJECT])  # type: ignore[union-attr]
    h.inner.script("list_projects", [_project(PROJECT), _project(other)])
    request = UpdateWorkItemRequest(work_item_id=item.id, expected_version=1, title="new")
    h.inner.script("update_work_item", ConnectionException("lost"), conflict(item.id, 1, 2))

    assert await h.client.update_work_item(request) == item
    assert [c.args for c in h.inner.calls_of("get_work_items")] == [(PROJECT,), (other,)]


async def test_retried_update_whose_item_holds_someone_elses_change_raises_the_conflict() -> None:
    h = Harness()
    item = make_work_item(PROJECT, title="theirs", version=3)
    h.inner.work_items[PROJECT] = [item]
    h.client.reconnection.track_subscription([PROJECT])  # type: ignore[union-attr]
    server_conflict = conflict(item.id, 1, 3)
    h.inner.script("update_work_item", timeout(), server_conflict)

    with pytest.raises(VersionConflictException) as raised:
        await h.client.update_work_item(
            UpdateWorkItemRequest(work_item_id=item.id, expected_version=1, title="mine")
        )

    assert raised.value is server_conflict


async def test_retried_update_of_an_item_that_is_gone_raises_the_conflict() -> None:
    h = Harness()
    server_conflict = conflict(uuid4(), 1, 2)
    h.inner.script("update_work_item", timeout(), server_conflict)

    with pytest.raises(VersionConflictException) as raised:
        await h.client.update_work_item(
            UpdateWorkItemRequest(work_item_id=uuid4(), expected_version=1, title="x")
        )
    assert raised.value is server_conflict


async def test_a_first_attempt_conflict_is_raised_without_looking_anything_up() -> None:
    h = Harness()
    server_conflict = conflict(uuid4(), 1, 2)
    h.inner.script("update_work_item", server_conflict)

    with pytest.raises(VersionConflictException) as raised:
        await h.client.update_work_item(
            UpdateWorkItemRequest(work_item_id=uuid4(), expected_version=1, title="x")
        )

    assert raised.value is server_conflict
    assert [c.name for c in h.inner.calls] == ["update_work_item"]


async def test_a_conflict_after_service_unavailable_is_not_ambiguous() -> None:
    # SERVICE_UNAVAILABLE means the server refused before processing: the first attempt did nothing.
    h = Harness()
    item = make_work_item(PROJECT, title="x", version=2)
    h.inner.work_items[PROJECT] = [item]
    h.client.reconnection.track_subscription([PROJECT])  # type: ignore[union-attr]
    h.inner.script(
        "update_work_item", ServerRejectedException("SERVICE_UNAVAILABLE", "busy"), conflict(item.id, 1, 2)
    )

    with pytest.raises(VersionConflictException):
        await h.client.update_work_item(
            UpdateWorkItemRequest(work_item_id=item.id, expected_version=1, title="x")
        )
    assert h.inner.calls_of("get_work_items") == []


async def test_a_business_rule_conflict_after_a_lost_answer_is_raised_never_taken_for_applied() -> None:
    # pm-server refuses a second active sprint with CONFLICT at the *current* version. Even though the
    # server's sprint holds what was asked (someone else activated it), this is a refusal, not "ours".
    h = Harness()
    sprint = make_sprint(PROJECT, version=5, status=SprintStatus.ACTIVE)
    h.inner.sprints[PROJECT] = [sprint]
    h.client.reconnection.track_subscription([PROJECT])  # type: ignore[union-attr]
    refusal = BusinessRuleConflictException(
        sprint.id, 4, "Conflict: resource was modified (current version: 4)"
    )
    h.inner.script("update_sprint", timeout(), refusal)

    with pytest.raises(BusinessRuleConflictException) as raised:
        await h.client.update_sprint(
            UpdateSprintRequest(sprint_id=sprint.id, expected_version=4, status=SprintStatus.ACTIVE)
        )

    assert raised.value is refusal
    assert [c.name for c in h.inner.calls] == ["update_sprint", "update_sprint"]  # nothing looked up
    assert h.breaker.failure_count == 0


async def test_a_business_rule_conflict_is_neither_retried_nor_a_breaker_failure() -> None:
    h = Harness(failure_threshold=1)
    refusal = BusinessRuleConflictException(
        uuid4(), 2, "Conflict: resource was modified (current version: 2)"
    )
    h.inner.script("update_sprint", refusal)

    with pytest.raises(BusinessRuleConflictException):
        await h.client.update_sprint(
            UpdateSprintRequest(sprint_id=uuid4(), expected_version=2, status=SprintStatus.COMPLETED)
        )

    assert len(h.inner.calls_of("update_sprint")) == 1
    assert h.breaker.state is CircuitState.CLOSED


async def test_an_update_the_server_did_not_apply_is_neither_retried_nor_a_breaker_failure() -> None:
    h = Harness(failure_threshold=1)
    item = make_work_item(PROJECT, version=3)
    dropped = UpdateNotAppliedException("UpdateWorkItem", item, ("priority",))
    h.inner.script("update_work_item", dropped)

    with pytest.raises(UpdateNotAppliedException) as raised:
        await h.client.update_work_item(
            UpdateWorkItemRequest(work_item_id=item.id, expected_version=3, priority="high")
        )

    assert raised.value is dropped
    assert len(h.inner.calls_of("update_work_item")) == 1
    assert h.breaker.state is CircuitState.CLOSED


async def test_retried_sprint_update_after_a_lost_answer_returns_the_applied_sprint() -> None:
    h = Harness()
    sprint = make_sprint(PROJECT, name="Sprint 2", version=5)
    h.inner.sprints[PROJECT] = [sprint]
    h.client.reconnection.track_subscription([PROJECT])  # type: ignore[union-attr]
    h.inner.script("update_sprint", timeout(), conflict(sprint.id, 4, 5))

    result = await h.client.update_sprint(
        UpdateSprintRequest(sprint_id=sprint.id, expected_version=4, name="Sprint 2")
    )
    assert result == sprint


async def test_retried_project_update_after_a_lost_answer_returns_the_applied_project() -> None:
    h = Harness()
    project = _project(PROJECT, title="Renamed", version=2)
    h.inner.script("list_projects", [project])
    h.inner.script("update_project", timeout(), conflict(PROJECT, 1, 2))

    result = await h.client.update_project(
        UpdateProjectRequest(project_id=PROJECT, expected_version=1, title="Renamed")
    )
    assert result == project


async def test_retried_delete_answered_not_found_after_a_lost_answer_is_done() -> None:
    h = Harness()
    item_id = uuid4()
    h.inner.script("delete_work_item", timeout(), ServerRejectedException("NOT_FOUND", "no such item"))

    assert await h.client.delete_work_item(item_id) is None
    calls = h.inner.calls_of("delete_work_item")
    assert len(calls) == 2
    assert calls[0].message_id == calls[1].message_id


async def test_a_first_attempt_not_found_on_delete_is_raised() -> None:
    h = Harness()
    not_found = ServerRejectedException("NOT_FOUND", "no such sprint")
    h.inner.script("delete_sprint", not_found)

    with pytest.raises(ServerRejectedException) as raised:
        await h.client.delete_sprint(uuid4())
    assert raised.value is not_found


async def test_retried_project_delete_answered_not_found_after_a_lost_answer_is_done() -> None:
    h = Harness()
    h.inner.script(
        "delete_project", ConnectionException("lost"), ServerRejectedException("NOT_FOUND", "gone")
    )
    await h.client.delete_project(PROJECT, 1)
    assert len(h.inner.calls_of("delete_project")) == 2


# -- subscriptions, delegation, lifecycle ------------------------------------------------------


async def test_subscriptions_are_tracked_on_success_and_untracked_on_unsubscribe() -> None:
    h = Harness()
    p2, s1 = uuid4(), uuid4()
    reconnection = h.reconnection
    assert reconnection is not None

    await h.client.subscribe([PROJECT, p2], [s1])
    assert reconnection.tracked_subscriptions.project_ids == (PROJECT, p2)
    assert reconnection.tracked_subscriptions.sprint_ids == (s1,)

    h.inner.script("unsubscribe", ConnectionException("lost"), ConnectionException("lost"), timeout())
    with pytest.raises(RequestTimeoutException):
        await h.client.unsubscribe([p2], [s1])
    # Untracked even though the request failed: a reconnect must not bring it back.
    assert reconnection.tracked_subscriptions.project_ids == (PROJECT,)
    assert reconnection.tracked_subscriptions.sprint_ids == ()


async def test_a_refused_subscription_is_not_tracked() -> None:
    h = Harness()
    h.inner.script("subscribe", ValidationException([]))
    with pytest.raises(ValidationException):
        await h.client.subscribe([PROJECT])
    assert h.reconnection is not None
    assert len(h.reconnection.tracked_subscriptions) == 0


async def test_without_a_reconnection_service_subscribe_still_works() -> None:
    h = Harness(reconnection=False)
    await h.client.subscribe([PROJECT])
    assert len(h.inner.calls_of("subscribe")) == 1


async def test_state_health_and_events_are_the_inner_clients() -> None:
    h = Harness()
    client, inner = h.client, h.inner

    assert client.state is inner.state
    assert client.health is inner.health
    for name in (
        "on_state_changed",
        "on_work_item_created",
        "on_work_item_updated",
        "on_work_item_deleted",
        "on_sprint_created",
        "on_sprint_updated",
        "on_sprint_deleted",
        "on_project_created",
        "on_project_updated",
        "on_project_deleted",
        "on_activity_logged",
        "on_warning",
    ):
        assert getattr(client, name) is getattr(inner, name), name


async def test_connect_and_disconnect_pass_through() -> None:
    h = Harness()
    await h.client.disconnect()
    assert h.client.state is ConnectionState.DISCONNECTED
    await h.client.connect()
    assert h.client.state is ConnectionState.CONNECTED
    assert [c.name for c in h.inner.calls] == ["disconnect", "connect"]


async def test_aclose_cancels_a_running_reconnect_loop_and_closes_the_inner_client() -> None:
    inner = FakeClient(state=ConnectionState.CONNECTED)
    sleep = ManualSleep()
    reconnection = ReconnectionService(
        inner, ReconnectionOptions(), clock=FakeTime().clock, sleep=sleep.sleep
    )
    client = ResilientWebSocketClient(inner, CircuitBreaker(), RetryPolicy(), reconnection=reconnection)
    inner.drop()
    async with asyncio.timeout(5):
        await sleep.started.wait()
        await client.aclose()

    assert not reconnection.is_reconnecting
    assert [t for t in asyncio.all_tasks() if t.get_name() == "pm-reconnect"] == []
    assert inner.state is ConnectionState.CLOSED
    assert inner.calls_of("connect") == []


async def test_async_context_manager_connects_and_closes() -> None:
    inner = FakeClient()
    async with ResilientWebSocketClient(inner, CircuitBreaker(), RetryPolicy()) as client:
        assert client.state is ConnectionState.CONNECTED
    assert inner.state is ConnectionState.CLOSED


# -- telemetry ---------------------------------------------------------------------------------


async def test_one_client_span_per_operation_with_attempts_retry_events_and_circuit_state() -> None:
    otel = OtelCapture(server_address="127.0.0.1", server_port=8123)
    h = Harness(telemetry=otel.telemetry)
    h.inner.script("create_work_item", timeout("CreateWorkItem"), make_work_item(PROJECT))

    await h.client.create_work_item(create_request())

    [span] = otel.spans()
    assert span.name == "pm CreateWorkItem"
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        "rpc.system": "pm-ws",
        "rpc.method": "CreateWorkItem",
        "server.address": "127.0.0.1",
        "server.port": 8123,
        "pm.attempts": 2,
        "pm.circuit.state": "Closed",
    }
    [retry_event] = span.events
    assert retry_event.name == "pm.retry"
    assert dict(retry_event.attributes or {}) == {
        "attempt": 1,
        "delay_s": pytest.approx(0.1),
        "error.type": "RequestTimeoutException",
    }
    assert span.status.status_code is StatusCode.UNSET  # the retried-away error is not the operation's
    [duration] = otel.points("pm.client.operation.duration")
    assert duration.count == 1
    assert dict(duration.attributes) == {"rpc.method": "CreateWorkItem"}
    assert otel.counter_by("pm.resilience.retry.attempts", "error.type") == {"RequestTimeoutException": 1}


async def test_a_failed_operation_span_has_error_status_and_type() -> None:
    otel = OtelCapture()
    h = Harness(telemetry=otel.telemetry, max_attempts=1)
    h.inner.script("get_sprints", ServerRejectedException("DATABASE_ERROR", "SELECT ..."))

    with pytest.raises(ServerRejectedException):
        await h.client.get_sprints(PROJECT)

    [span] = otel.spans("pm GetSprints")
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "DATABASE_ERROR"
    [duration] = otel.points("pm.client.operation.duration")
    assert dict(duration.attributes) == {"rpc.method": "GetSprints", "error.type": "DATABASE_ERROR"}


async def test_a_breaker_rejection_is_recorded_on_the_operation_span() -> None:
    otel = OtelCapture()
    h = Harness(telemetry=otel.telemetry)
    h.breaker.isolate()

    with pytest.raises(CircuitOpenException):
        await h.client.get_work_items(PROJECT)

    [span] = otel.spans("pm GetWorkItems")
    assert [e.name for e in span.events] == ["pm.circuit.rejected", "exception"]
    attributes = dict(span.attributes or {})
    assert attributes["pm.attempts"] == 0
    assert attributes["pm.circuit.state"] == "Open"
    assert attributes["error.type"] == "CircuitOpenException"
    assert otel.counter_by("pm.resilience.circuit.rejections", "rpc.method") == {"GetWorkItems": 1}
    assert h.inner.calls_of("get_work_items") == []


async def test_each_call_of_an_operation_gets_its_own_final_attributes() -> None:
    """The per-operation attribute dicts are shared between calls: one call's retry must not leak."""
    otel = OtelCapture(server_address="127.0.0.1", server_port=8123)
    h = Harness(telemetry=otel.telemetry)
    h.inner.script("get_work_items", timeout("GetWorkItems"), [], [])

    await h.client.get_work_items(PROJECT)
    await h.client.get_work_items(PROJECT)

    first, second = otel.spans("pm GetWorkItems")
    assert (first.attributes or {})["pm.attempts"] == 2
    assert [e.name for e in first.events] == ["pm.retry"]
    assert dict(second.attributes or {}) == {
        "rpc.system": "pm-ws",
        "rpc.method": "GetWorkItems",
        "server.address": "127.0.0.1",
        "server.port": 8123,
        "pm.attempts": 1,
        "pm.circuit.state": "Closed",
    }
    assert second.events == ()
    [duration] = otel.points("pm.client.operation.duration")
    assert duration.count == 2


async def test_a_ping_span_reports_no_retry_attempts() -> None:
    """Ping bypasses the retry policy, so no attempt count is reported: pm.attempts stays 0."""
    otel = OtelCapture()
    h = Harness(telemetry=otel.telemetry)

    await h.client.ping()

    [span] = otel.spans("pm Ping")
    attributes = dict(span.attributes or {})
    assert (attributes["pm.attempts"], attributes["pm.circuit.state"]) == (0, "Closed")
    assert span.status.status_code is StatusCode.UNSET


async def test_telemetry_on_no_op_providers_is_skipped_and_the_client_still_works() -> None:
    inert = PmTelemetry(NoOpTracerProvider(), NoOpMeterProvider())
    h = Harness(telemetry=inert)
    h.inner.script("get_sprints", timeout("GetSprints"), [])

    assert await h.client.get_sprints(PROJECT) == []
    assert len(h.inner.calls_of("get_sprints")) == 2
    assert not h.client._traced  # decided once: nothing through no-op providers can be recorded


def _project(project_id: object, *, title: str = "Project", version: int = 1) -> Project:
    now = make_work_item(PROJECT).created_at
    return Project(
        id=project_id,  # type: ignore[arg-type]
        key="PM",
        title=title,
        status=ProjectStatus.ACTIVE,
        version=version,
        created_at=now,
        updated_at=now,
        created_by=uuid4(),
        updated_by=uuid4(),
    )
