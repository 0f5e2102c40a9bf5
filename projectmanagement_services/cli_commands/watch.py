"""``pm watch --project ID``: follow a project live, through drops, reconnects and resyncs.

It is a small embedding of the library: the container's stores load the project and stay subscribed;
each change they report is printed with where it came from (``server`` for a broadcast, ``resync``
for what the reconnection service found changed while the connection was down). An outage is one
line when it starts (with the wait before the first attempt) and one when it ends (attempts, length,
resync summary); single failed attempts are only logged (``-v``).

Ctrl-C (SIGINT) or SIGTERM is the normal way out: the session closes cleanly and the exit code is 0.
The exit code is 3 when the reconnection service gives up (``Reconnection:MaxAttempts``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from rich.text import Text

from projectmanagement_core.exceptions import ConnectionException
from projectmanagement_core.models import (
    ChangeKind,
    ConnectionState,
    ConnectionStateChange,
    EntityChange,
    ProjectDeleted,
    ProjectUpdated,
    Sprint,
    WorkItem,
)
from projectmanagement_services.cli_commands.addressing import resolve_project
from projectmanagement_services.cli_commands.errors import EXIT_OK, EXIT_UNREACHABLE, CliError
from projectmanagement_services.cli_commands.output import Output
from projectmanagement_services.cli_commands.runner import ClientCall, client_handler
from projectmanagement_services.resilience.reconnection_service import ReconnectionResult, ReconnectScheduled

if TYPE_CHECKING:
    from projectmanagement_services.container import PmContainer

__all__ = ["EventPrinter", "stop_on_signals", "watch_project"]

#: Fields shown as ``old -> new`` when an entity changes.
_WORK_ITEM_FIELDS: Final = (
    "title",
    "status",
    "priority",
    "description",
    "assignee_id",
    "sprint_id",
    "story_points",
    "position",
    "parent_id",
)
_SPRINT_FIELDS: Final = ("name", "status", "goal", "start_date", "end_date")
#: Logs "connection lost" as a warning, which ``pm watch`` shows as its own event instead.
_CLIENT_LOGGER: Final = "projectmanagement_services.websocket.client"
_SOURCE_STYLES: Final = {"server": "cyan", "resync": "magenta", "local": "green", "rollback": "red"}


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` instead of raising, so shutdown runs the normal path."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not main thread / Windows
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


class _AlreadyPrinted(logging.Filter):
    """Drops the client's "connection lost" warning: ``pm watch`` prints the outage as an event."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("connection lost")


@contextlib.contextmanager
def _no_duplicate_outage_logs() -> Iterator[None]:
    client_log = logging.getLogger(_CLIENT_LOGGER)
    quiet = _AlreadyPrinted()
    client_log.addFilter(quiet)
    try:
        yield
    finally:
        client_log.removeFilter(quiet)


def _diff(before: Any, after: Any, fields: tuple[str, ...]) -> str:
    changes = []
    for name in fields:
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            changes.append(f"{name} {_brief(old)} -> {_brief(new)}")
    return ", ".join(changes)


def _brief(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    text = str(value)
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


class EventPrinter:
    """Prints what ``pm watch`` sees: as text lines, or one JSON object a line with ``--json``."""

    def __init__(self, output: Output) -> None:
        self._output = output
        self._lost: BaseException | None = None

    def _emit(self, event: str, text: str, *, style: str | None = None, **data: Any) -> None:
        if self._output.json_output:
            self._output.json_line({"event": event, **data})
            return
        stamp = datetime.now().strftime("%H:%M:%S")
        line = Text(f"{stamp} ", style="dim")
        line.append(text, style=style)
        self._output.line(line)

    def started(self, project_id: object, items: int, sprints: int) -> None:
        self._emit(
            "watching",
            f"watching project {project_id}: {items} work item(s), {sprints} sprint(s); Ctrl-C to stop",
            style="bold",
            project_id=str(project_id),
            work_items=items,
            sprints=sprints,
        )

    def work_item(self, change: EntityChange[WorkItem]) -> None:
        item = change.current or change.previous
        if item is None:
            return
        what = f'#{item.item_number} {item.item_type.value} "{item.title}"'
        self._change("work_item", change, what, _WORK_ITEM_FIELDS)

    def sprint(self, change: EntityChange[Sprint]) -> None:
        sprint = change.current or change.previous
        if sprint is None:
            return
        self._change("sprint", change, f'sprint "{sprint.name}"', _SPRINT_FIELDS)

    def _change(self, kind: str, change: EntityChange[Any], what: str, fields: tuple[str, ...]) -> None:
        text = f"[{change.source}] {kind.replace('_', ' ')} {change.kind.value.lower()}: {what}"
        if change.kind is ChangeKind.UPDATED:
            text += f" ({_diff(change.previous, change.current, fields) or 'no visible change'})"
        elif change.kind is ChangeKind.ADDED and isinstance(change.current, WorkItem):
            text += f" status {change.current.status}"
        entity = change.current or change.previous
        self._emit(
            kind,
            text,
            style=_SOURCE_STYLES.get(change.source),
            kind=change.kind.value,
            source=change.source,
            entity=entity,
        )

    def project_updated(self, event: ProjectUpdated) -> None:
        self._emit(
            "project",
            f"project updated: {event.project.key} {event.project.title!r}",
            kind="Updated",
            entity=event.project,
        )

    def project_deleted(self, event: ProjectDeleted) -> None:
        self._emit(
            "project",
            f"project deleted: {event.project_id}",
            kind="Removed",
            project_id=str(event.project_id),
        )

    def state_changed(self, change: ConnectionStateChange) -> None:
        if change.current is ConnectionState.RECONNECTING:
            # Printed with the first attempt's delay (``reconnect_scheduled``): one line an outage.
            self._lost = change.error
        elif (
            change.current is ConnectionState.CONNECTED
            and change.previous is not ConnectionState.DISCONNECTED
        ):
            self._emit("connection", "connected", style="green", state=change.current.value)

    def reconnect_scheduled(self, scheduled: ReconnectScheduled) -> None:
        """The outage's one line, at its first attempt; later attempts print nothing (see -v)."""
        if scheduled.attempt != 1:
            return
        error, self._lost = self._lost, None
        why = f": {error}" if error is not None else ""
        self._emit(
            "connection",
            f"connection lost{why}; reconnecting, first attempt in {scheduled.delay_seconds:.1f} s",
            style="bold yellow",
            state=ConnectionState.RECONNECTING.value,
            error=str(error) if error is not None else None,
            next_retry_seconds=round(scheduled.delay_seconds, 3),
        )

    def reconnected(self, result: ReconnectionResult) -> None:
        self._emit(
            "reconnected",
            f"reconnected after {result.attempts} attempt(s), outage {result.outage_seconds:.1f} s: "
            f"resubscribed {result.resubscribed}, resynced {result.resynced_items} item(s)",
            style="bold green",
            attempts=result.attempts,
            outage_seconds=result.outage_seconds,
            resubscribed=result.resubscribed,
            resynced_items=result.resynced_items,
        )

    def reconnect_failed(self, error: ConnectionException) -> None:
        self._emit("reconnect_failed", f"gave up reconnecting: {error}", style="bold red", error=str(error))

    def stopped(self) -> None:
        self._emit("stopped", "stopped", style="bold")


def _watch(args: argparse.Namespace, output: Output) -> ClientCall:
    async def call(container: PmContainer) -> int:
        client = container.client()
        project_id = await resolve_project(client, args.project)
        reconnection = container.reconnection()
        items = container.work_items()
        sprints = container.sprints()
        printer = EventPrinter(output)
        stop = asyncio.Event()
        gave_up: list[ConnectionException] = []

        def on_failed(error: ConnectionException) -> None:
            gave_up.append(error)
            printer.reconnect_failed(error)
            stop.set()

        with stop_on_signals(stop), _no_duplicate_outage_logs():
            await client.subscribe([project_id])
            loaded_items = await items.load_project(project_id)
            loaded_sprints = await sprints.load_project(project_id)
            # Subscribed to the stores only now: loading reports every existing entity as added.
            items.on_changed.subscribe(printer.work_item)
            sprints.on_changed.subscribe(printer.sprint)
            client.on_project_updated.subscribe(printer.project_updated)
            client.on_project_deleted.subscribe(printer.project_deleted)
            client.on_state_changed.subscribe(printer.state_changed)
            reconnection.on_reconnect_scheduled.subscribe(printer.reconnect_scheduled)
            reconnection.on_reconnected.subscribe(printer.reconnected)
            reconnection.on_reconnect_failed.subscribe(on_failed)
            printer.started(project_id, len(loaded_items), len(loaded_sprints))
            await stop.wait()
        if gave_up:
            url = container.web_socket_options().server_url
            raise CliError(f"lost the connection to {url} for good: {gave_up[0]}", EXIT_UNREACHABLE)
        printer.stopped()
        return EXIT_OK

    return call


#: The handler of ``pm watch`` (parser: ``tool_parsers``).
watch_project = client_handler(_watch)
