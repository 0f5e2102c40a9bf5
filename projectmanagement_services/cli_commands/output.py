"""What ``pm`` prints: rich tables for people, JSON for scripts, one-line errors on stderr.

Consoles are created per invocation (not at import) so that they write to whatever ``sys.stdout``
and ``sys.stderr`` are at that moment: a test's capture, a pipe, a terminal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Final

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text

from projectmanagement_core.models import Project, Sprint, WorkItem

__all__ = ["Output", "project_table", "sprint_table", "to_jsonable", "work_item_table"]

#: Width used when stdout is not a terminal, so a piped table keeps whole UUIDs on one line.
_PIPE_WIDTH: Final = 200


class Output:
    """The two consoles of a command, and the JSON switch."""

    def __init__(self, *, json_output: bool = False) -> None:
        self.json_output = json_output
        self.out = Console(file=sys.stdout, highlight=False)
        if not self.out.is_terminal:
            self.out.width = _PIPE_WIDTH
        self.err = Console(file=sys.stderr, highlight=False)

    def line(self, text: str | Text, *, style: str | None = None) -> None:
        """One line on stdout, never wrapped, brackets in data never read as markup."""
        self.out.print(text if isinstance(text, Text) else Text(text), style=style, soft_wrap=True)
        self.out.file.flush()

    def error(self, message: str) -> None:
        """``pm: <message>`` on stderr, on one line."""
        self.err.print(Text(f"pm: {message}"), soft_wrap=True, style="bold red")

    def warning(self, message: str) -> None:
        self.err.print(Text(f"pm: {message}"), soft_wrap=True, style="yellow")

    def json(self, value: Any) -> None:
        """Plain JSON on stdout (no colour, no wrapping): what a script parses."""
        sys.stdout.write(json.dumps(to_jsonable(value), indent=2) + "\n")
        sys.stdout.flush()

    def json_line(self, value: Any) -> None:
        """One compact JSON object per line (``pm watch --json``: newline-delimited JSON)."""
        sys.stdout.write(json.dumps(to_jsonable(value), separators=(",", ":")) + "\n")
        sys.stdout.flush()

    def table(self, table: Table) -> None:
        self.out.print(table)


def to_jsonable(value: Any) -> Any:
    """Models as their JSON form (UUIDs and datetimes as strings); sequences element by element."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    return value


def _short_date(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else ""


def project_table(projects: Sequence[Project]) -> Table:
    table = Table(title=f"{len(projects)} project(s)", title_justify="left")
    for column in ("key", "title", "status", "version", "id"):
        table.add_column(column, no_wrap=column in ("id", "key"))
    for project in projects:
        table.add_row(project.key, project.title, project.status.value, str(project.version), str(project.id))
    return table


def work_item_table(items: Iterable[WorkItem]) -> Table:
    rows = list(items)
    table = Table(title=f"{len(rows)} work item(s)", title_justify="left")
    for column in ("#", "type", "title", "status", "priority", "version", "id"):
        table.add_column(column, no_wrap=column in ("id", "#"))
    for item in rows:
        table.add_row(
            str(item.item_number),
            item.item_type.value,
            item.title,
            item.status,
            item.priority,
            str(item.version),
            str(item.id),
        )
    return table


def sprint_table(sprints: Sequence[Sprint]) -> Table:
    table = Table(title=f"{len(sprints)} sprint(s)", title_justify="left")
    for column in ("name", "status", "start", "end", "version", "id"):
        table.add_column(column, no_wrap=column == "id")
    for sprint in sprints:
        table.add_row(
            sprint.name,
            sprint.status.value,
            _short_date(sprint.start_date),
            _short_date(sprint.end_date),
            str(sprint.version),
            str(sprint.id),
        )
    return table
