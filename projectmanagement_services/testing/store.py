"""SQLite persistence for the reference server: projects, members, work items, sprints, idempotency.

Why the calls run on the event loop instead of in a worker thread: every statement is a primary-key or
indexed lookup, or a single-row write, on one connection, taking microseconds (far less than a thread
hop would cost). Because the server handles each request as one synchronous unit with no ``await``
inside, requests never interleave within a transaction, so one connection needs no locks and every
request is atomic. File databases use WAL with ``synchronous=NORMAL`` so that a commit does not wait for
an fsync; a crash may lose the last commits, which is acceptable for a test and demo server.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final, TypeVar

from google.protobuf.message import Message

from projectmanagement_core.proto import messages_pb2 as pb

__all__ = ["SqliteStore"]

_M = TypeVar("_M", bound=Message)

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY, key TEXT NOT NULL, title TEXT NOT NULL, description TEXT,
    status INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    created_by TEXT NOT NULL, updated_by TEXT NOT NULL, deleted_at INTEGER, version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS projects_key ON projects (key);
CREATE TABLE IF NOT EXISTS members (
    project_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE TABLE IF NOT EXISTS work_items (
    id TEXT PRIMARY KEY, item_type INTEGER NOT NULL, parent_id TEXT, project_id TEXT NOT NULL,
    position INTEGER NOT NULL, title TEXT NOT NULL, description TEXT, status TEXT NOT NULL,
    assignee_id TEXT, sprint_id TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    created_by TEXT NOT NULL, updated_by TEXT NOT NULL, deleted_at INTEGER, priority TEXT NOT NULL,
    story_points INTEGER, version INTEGER NOT NULL, item_number INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS work_items_project ON work_items (project_id, parent_id);
CREATE INDEX IF NOT EXISTS work_items_parent ON work_items (parent_id);
-- Soft deletes keep every row: without these, each create's MAX() and each list read would scan
-- the project's whole history, so a long-lived project slows down with every delete.
CREATE INDEX IF NOT EXISTS work_items_number ON work_items (project_id, item_number);
CREATE INDEX IF NOT EXISTS work_items_live_position
    ON work_items (project_id, parent_id, position) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS work_items_live_list
    ON work_items (project_id, position, item_number) WHERE deleted_at IS NULL;
CREATE TABLE IF NOT EXISTS sprints (
    id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL, goal TEXT,
    start_date INTEGER NOT NULL, end_date INTEGER NOT NULL, status INTEGER NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL, deleted_at INTEGER, version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sprints_project ON sprints (project_id);
CREATE TABLE IF NOT EXISTS idempotency (message_id TEXT PRIMARY KEY, answer BLOB NOT NULL);
"""

# Column lists mirror the proto field names, so rows and messages convert generically.
_PROJECT_COLUMNS: Final = [
    "id",
    "key",
    "title",
    "description",
    "status",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "deleted_at",
    "version",
]
_WORK_ITEM_COLUMNS: Final = [
    "id",
    "item_type",
    "parent_id",
    "project_id",
    "position",
    "title",
    "description",
    "status",
    "assignee_id",
    "sprint_id",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "deleted_at",
    "priority",
    "story_points",
    "version",
    "item_number",
]
_SPRINT_COLUMNS: Final = [
    "id",
    "project_id",
    "name",
    "goal",
    "start_date",
    "end_date",
    "status",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "deleted_at",
    "version",
]


def _values(message: Message, columns: Sequence[str]) -> tuple[object, ...]:
    """The row for ``message``: an unset optional field becomes NULL."""
    fields = message.DESCRIPTOR.fields_by_name
    return tuple(
        getattr(message, name) if not fields[name].has_presence or message.HasField(name) else None
        for name in columns
    )


def _message(cls: type[_M], row: sqlite3.Row) -> _M:
    """The message for ``row``: NULL leaves an optional field unset."""
    message = cls()
    for name in row.keys():  # noqa: SIM118 - sqlite3.Row iterates values, not keys
        value = row[name]
        if value is not None:
            setattr(message, name, value)
    return message


class SqliteStore:
    """All reads and writes of the reference server, on one sqlite3 connection.

    Reads return protobuf messages (the wire shape is the storage shape); ``ancestor_ids`` and
    ``descendant_ids`` are derived, never stored. Mutations are grouped with :meth:`transaction`.
    """

    def __init__(self, database: str | Path) -> None:
        self._connection = sqlite3.connect(str(database), isolation_level=None, check_same_thread=False)
        self._connection.row_factory = sqlite3.Row
        if str(database) != ":memory:":
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection; the store is unusable afterwards."""
        self._connection.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all."""
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    # ------------------------------------------------------------------ generic helpers

    def _insert(self, table: str, columns: Sequence[str], message: Message) -> None:
        marks = ", ".join("?" * len(columns))
        self._connection.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", _values(message, columns)
        )

    def _save(self, table: str, columns: Sequence[str], message: Message) -> None:
        values = _values(message, columns)
        assignments = ", ".join(f"{name} = ?" for name in columns[1:])
        self._connection.execute(f"UPDATE {table} SET {assignments} WHERE id = ?", (*values[1:], values[0]))

    def _select(self, cls: type[_M], sql: str, *args: object) -> list[_M]:
        return [_message(cls, row) for row in self._connection.execute(sql, args)]

    def _one(self, cls: type[_M], sql: str, *args: object) -> _M | None:
        found = self._select(cls, sql, *args)
        return found[0] if found else None

    def _scalar(self, sql: str, *args: object) -> object:
        row = self._connection.execute(sql, args).fetchone()
        return None if row is None else row[0]

    # ------------------------------------------------------------------ projects and members

    def insert_project(self, project: pb.Project) -> None:
        self._insert("projects", _PROJECT_COLUMNS, project)

    def save_project(self, project: pb.Project) -> None:
        self._save("projects", _PROJECT_COLUMNS, project)

    def project(self, project_id: str) -> pb.Project | None:
        """The project, deleted or not (callers decide what a tombstone means)."""
        return self._one(pb.Project, "SELECT * FROM projects WHERE id = ?", project_id)

    def project_key_in_use(self, key: str) -> bool:
        return self._scalar("SELECT 1 FROM projects WHERE key = ? AND deleted_at IS NULL", key) is not None

    def projects(self, include_deleted: bool = False) -> list[pb.Project]:
        where = "" if include_deleted else "WHERE deleted_at IS NULL"
        return self._select(pb.Project, f"SELECT * FROM projects {where} ORDER BY created_at, key")

    def projects_of(self, user_id: str) -> list[pb.Project]:
        """The live projects ``user_id`` is a member of."""
        return self._select(
            pb.Project,
            "SELECT p.* FROM projects p JOIN members m ON m.project_id = p.id "
            "WHERE m.user_id = ? AND p.deleted_at IS NULL ORDER BY p.created_at, p.key",
            user_id,
        )

    def add_member(self, project_id: str, user_id: str, role: str) -> None:
        self._connection.execute(
            "INSERT OR REPLACE INTO members (project_id, user_id, role) VALUES (?, ?, ?)",
            (project_id, user_id, role),
        )

    def member_role(self, project_id: str, user_id: str) -> str | None:
        role = self._scalar(
            "SELECT role FROM members WHERE project_id = ? AND user_id = ?", project_id, user_id
        )
        return None if role is None else str(role)

    def member_ids(self, project_id: str) -> set[str]:
        rows = self._connection.execute("SELECT user_id FROM members WHERE project_id = ?", (project_id,))
        return {str(row[0]) for row in rows}

    # ------------------------------------------------------------------ work items

    def insert_work_item(self, item: pb.WorkItem) -> None:
        self._insert("work_items", _WORK_ITEM_COLUMNS, item)

    def save_work_item(self, item: pb.WorkItem) -> None:
        self._save("work_items", _WORK_ITEM_COLUMNS, item)

    def work_item(self, item_id: str) -> pb.WorkItem | None:
        """The item, deleted or not, without the derived ancestor/descendant ids."""
        return self._one(pb.WorkItem, "SELECT * FROM work_items WHERE id = ?", item_id)

    def work_items(self, project_id: str, include_deleted: bool = False) -> list[pb.WorkItem]:
        """A project's items by position, with ancestor and descendant ids filled in."""
        where = "" if include_deleted else "AND deleted_at IS NULL"
        items = self._select(
            pb.WorkItem,
            f"SELECT * FROM work_items WHERE project_id = ? {where} ORDER BY position, item_number",
            project_id,
        )
        by_id = {item.id: item for item in items}
        children: dict[str, list[str]] = {}
        for item in items:
            if item.HasField("parent_id") and not item.HasField("deleted_at"):
                children.setdefault(item.parent_id, []).append(item.id)
        for item in items:
            item.ancestor_ids.extend(self._ancestors(item, by_id))
            item.descendant_ids.extend(_walk_down(item.id, children))
        return items

    def with_hierarchy(self, item: pb.WorkItem) -> pb.WorkItem:
        """``item`` with its ancestor ids (parent first) and live descendant ids filled in."""
        del item.ancestor_ids[:]
        del item.descendant_ids[:]
        item.ancestor_ids.extend(self._ancestors(item, {}))
        rows = self._connection.execute(
            "WITH RECURSIVE d(id) AS ("
            " SELECT id FROM work_items WHERE parent_id = ? AND deleted_at IS NULL"
            " UNION ALL SELECT w.id FROM work_items w JOIN d ON w.parent_id = d.id WHERE w.deleted_at IS NULL"
            ") SELECT id FROM d",
            (item.id,),
        )
        item.descendant_ids.extend(str(row[0]) for row in rows)
        return item

    def _ancestors(self, item: pb.WorkItem, known: dict[str, pb.WorkItem]) -> list[str]:
        ancestors: list[str] = []
        current = item
        while current.HasField("parent_id") and current.parent_id not in ancestors:
            ancestors.append(current.parent_id)
            parent = known.get(current.parent_id) or self.work_item(current.parent_id)
            if parent is None:
                break
            current = parent
        return ancestors

    def next_position(self, project_id: str, parent_id: str | None) -> int:
        """One past the last live sibling's position (0 for the first child)."""
        last = self._scalar(
            "SELECT MAX(position) FROM work_items WHERE project_id = ? AND parent_id IS ? AND deleted_at IS NULL",
            project_id,
            parent_id,
        )
        return 0 if last is None else int(str(last)) + 1

    def next_item_number(self, project_id: str) -> int:
        """Item numbers only grow within a project, deleted items included, so none is reused."""
        last = self._scalar("SELECT MAX(item_number) FROM work_items WHERE project_id = ?", project_id)
        return 1 if last is None else int(str(last)) + 1

    def has_live_children(self, item_id: str) -> bool:
        found = self._scalar("SELECT 1 FROM work_items WHERE parent_id = ? AND deleted_at IS NULL", item_id)
        return found is not None

    # ------------------------------------------------------------------ sprints

    def insert_sprint(self, sprint: pb.Sprint) -> None:
        self._insert("sprints", _SPRINT_COLUMNS, sprint)

    def save_sprint(self, sprint: pb.Sprint) -> None:
        self._save("sprints", _SPRINT_COLUMNS, sprint)

    def sprint(self, sprint_id: str) -> pb.Sprint | None:
        return self._one(pb.Sprint, "SELECT * FROM sprints WHERE id = ?", sprint_id)

    def sprints(self, project_id: str, include_deleted: bool = False) -> list[pb.Sprint]:
        where = "" if include_deleted else "AND deleted_at IS NULL"
        return self._select(
            pb.Sprint,
            f"SELECT * FROM sprints WHERE project_id = ? {where} ORDER BY start_date, name",
            project_id,
        )

    # ------------------------------------------------------------------ idempotency

    def stored_answer(self, message_id: str) -> bytes | None:
        """The serialized answer of the create first sent with ``message_id``, if any."""
        answer = self._scalar("SELECT answer FROM idempotency WHERE message_id = ?", message_id)
        return None if answer is None else bytes(answer)  # type: ignore[call-overload]

    def store_answer(self, message_id: str, answer: bytes) -> None:
        self._connection.execute(
            "INSERT INTO idempotency (message_id, answer) VALUES (?, ?)", (message_id, answer)
        )


def _walk_down(item_id: str, children: dict[str, list[str]]) -> list[str]:
    """Every descendant of ``item_id`` in ``children``, depth first."""
    found: list[str] = []
    stack = list(children.get(item_id, ()))
    while stack:
        child = stack.pop()
        if child in found:
            continue
        found.append(child)
        stack.extend(children.get(child, ()))
    return found
