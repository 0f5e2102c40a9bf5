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
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final, TypeVar

from google.protobuf.message import Message

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing.hierarchy import fill_hierarchy

__all__ = ["ROLES", "SCHEMA_VERSION", "SqliteStore"]

_M = TypeVar("_M", bound=Message)

#: Bumped whenever the tables change; a database of another version is refused, not misread.
SCHEMA_VERSION: Final = 3

# As pm-server's migrations (pm-db/migrations), where the wire can tell: the CHECK constraints on work
# item status and priority, the foreign keys (a sprint or assignee the database does not know is a
# DATABASE_ERROR), a project key unique across deleted projects too, and the roles a member may have.
# Enum columns hold the proto numbers, so rows and messages convert generically.
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, description TEXT, key TEXT NOT NULL UNIQUE,
    status INTEGER NOT NULL CHECK (status IN (1, 2)), version INTEGER NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL, deleted_at INTEGER, next_work_item_number INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS members (
    project_id TEXT NOT NULL REFERENCES projects (id), user_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    PRIMARY KEY (project_id, user_id)
);
CREATE TABLE IF NOT EXISTS sprints (
    id TEXT PRIMARY KEY, project_id TEXT NOT NULL REFERENCES projects (id), name TEXT NOT NULL,
    goal TEXT, start_date INTEGER NOT NULL, end_date INTEGER NOT NULL,
    status INTEGER NOT NULL CHECK (status IN (1, 2, 3, 4)),
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL, deleted_at INTEGER, version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sprints_project ON sprints (project_id, start_date);
CREATE TABLE IF NOT EXISTS work_items (
    id TEXT PRIMARY KEY, item_type INTEGER NOT NULL,
    parent_id TEXT REFERENCES work_items (id), project_id TEXT NOT NULL REFERENCES projects (id),
    position INTEGER NOT NULL, title TEXT NOT NULL, description TEXT,
    status TEXT NOT NULL CHECK (status IN ('backlog', 'todo', 'in_progress', 'review', 'done')),
    assignee_id TEXT REFERENCES users (id), sprint_id TEXT REFERENCES sprints (id),
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    created_by TEXT NOT NULL, updated_by TEXT NOT NULL, deleted_at INTEGER,
    priority TEXT NOT NULL CHECK (priority IN ('critical', 'high', 'medium', 'low')),
    story_points INTEGER, version INTEGER NOT NULL, item_number INTEGER NOT NULL,
    UNIQUE (project_id, item_number)
);
CREATE INDEX IF NOT EXISTS work_items_parent ON work_items (parent_id);
-- Soft deletes keep every row: without these, each create's MAX() and each list read would scan
-- the project's whole history, so a long-lived project slows down with every delete.
CREATE INDEX IF NOT EXISTS work_items_live_position
    ON work_items (project_id, parent_id, position) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS work_items_live_list
    ON work_items (project_id, position) WHERE deleted_at IS NULL;
-- Keyed by user and message_id (not message_id alone, as pm-server): see stored_answer.
CREATE TABLE IF NOT EXISTS idempotency (
    user_id TEXT NOT NULL, message_id TEXT NOT NULL, request_digest BLOB NOT NULL, answer BLOB NOT NULL,
    PRIMARY KEY (user_id, message_id)
);
"""

# Column lists mirror the proto field names, so rows and messages convert generically.
_PROJECT_COLUMNS: Final = [
    "id",
    "title",
    "description",
    "key",
    "status",
    "version",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "deleted_at",
    "next_work_item_number",
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
#: Unknown roles are refused; "member" is accepted as the editor role the reference server once called so.
ROLES: Final = frozenset({"viewer", "editor", "admin"})


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
    Lookups by id see live rows only, as pm-server's repositories (``WHERE deleted_at IS NULL``).
    """

    def __init__(self, database: str | Path) -> None:
        self._connection = sqlite3.connect(str(database), isolation_level=None, check_same_thread=False)
        self._connection.row_factory = sqlite3.Row
        self._connection.execute("PRAGMA foreign_keys=ON")
        if str(database) != ":memory:":
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
        version = int(str(self._scalar("PRAGMA user_version")))
        has_tables = self._scalar("SELECT 1 FROM sqlite_master WHERE type = 'table'") is not None
        if has_tables and version != SCHEMA_VERSION:
            self._connection.close()
            raise RuntimeError(
                f"{database} holds reference-server data of schema version {version}, not "
                f"{SCHEMA_VERSION}; delete it or use another file"
            )
        self._connection.executescript(_SCHEMA)
        self._connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

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

    # ------------------------------------------------------------------ users and members

    def ensure_user(self, user_id: str) -> None:
        """Record a user, as pm-server does for each desktop-mode connection (assignees must exist)."""
        self._connection.execute("INSERT OR IGNORE INTO users (id) VALUES (?)", (user_id,))

    def add_member(self, project_id: str, user_id: str, role: str) -> None:
        role = "editor" if role == "member" else role
        if role not in ROLES:
            raise ValueError(f"role must be one of {sorted(ROLES)} (got {role!r})")
        self._connection.execute(
            "INSERT OR REPLACE INTO members (project_id, user_id, role) VALUES (?, ?, ?)",
            (project_id, user_id, role),
        )

    def member_role(self, project_id: str, user_id: str) -> str | None:
        role = self._scalar(
            "SELECT role FROM members WHERE project_id = ? AND user_id = ?", project_id, user_id
        )
        return None if role is None else str(role)

    # ------------------------------------------------------------------ projects

    def insert_project(self, project: pb.Project) -> None:
        self._insert("projects", _PROJECT_COLUMNS, project)

    def save_project(self, project: pb.Project) -> None:
        self._save("projects", _PROJECT_COLUMNS, project)

    def project(self, project_id: str) -> pb.Project | None:
        """The live project."""
        return self._one(pb.Project, "SELECT * FROM projects WHERE id = ? AND deleted_at IS NULL", project_id)

    def live_project_with_key(self, key: str) -> pb.Project | None:
        return self._one(pb.Project, "SELECT * FROM projects WHERE key = ? AND deleted_at IS NULL", key)

    def projects(self, include_deleted: bool = False) -> list[pb.Project]:
        """Projects by title (binary order), as ListProjects answers."""
        where = "" if include_deleted else "WHERE deleted_at IS NULL"
        return self._select(pb.Project, f"SELECT * FROM projects {where} ORDER BY title, rowid")

    def take_work_item_number(self, project_id: str) -> int | None:
        """The live project's next work item number, incremented; None when the project is gone."""
        current = self._scalar(
            "SELECT next_work_item_number FROM projects WHERE id = ? AND deleted_at IS NULL", project_id
        )
        if current is None:
            return None
        number = int(str(current))
        self._connection.execute(
            "UPDATE projects SET next_work_item_number = ? WHERE id = ?", (number + 1, project_id)
        )
        return number

    # ------------------------------------------------------------------ work items

    def insert_work_item(self, item: pb.WorkItem) -> None:
        self._insert("work_items", _WORK_ITEM_COLUMNS, item)

    def save_work_item(self, item: pb.WorkItem) -> None:
        self._save("work_items", _WORK_ITEM_COLUMNS, item)

    def work_item(self, item_id: str) -> pb.WorkItem | None:
        """The live item, without the derived ancestor/descendant ids."""
        return self._one(pb.WorkItem, "SELECT * FROM work_items WHERE id = ? AND deleted_at IS NULL", item_id)

    def work_items(self, project_id: str, include_deleted: bool = False) -> list[pb.WorkItem]:
        """A project's items by position, with ancestor and descendant ids (from the live items)."""
        where = "" if include_deleted else "AND deleted_at IS NULL"
        items = self._select(
            pb.WorkItem,
            f"SELECT * FROM work_items WHERE project_id = ? {where} ORDER BY position, rowid",
            project_id,
        )
        fill_hierarchy([item for item in items if not item.HasField("deleted_at")])
        return items

    def with_hierarchy(self, item: pb.WorkItem) -> pb.WorkItem:
        """``item`` with the ids :func:`fill_hierarchy` would give it among its project's live items.

        Walked with indexed lookups instead of loading the project, so a create stays cheap however
        large the project grows.
        """
        del item.ancestor_ids[:]
        del item.descendant_ids[:]
        seen = {item.id}
        current: pb.WorkItem | None = item
        while current is not None and current.HasField("parent_id") and current.parent_id not in seen:
            parent_id = current.parent_id
            seen.add(parent_id)
            item.ancestor_ids.append(parent_id)
            current = self.work_item(parent_id)
            if current is not None and current.project_id != item.project_id:
                current = None  # outside the project's live items: the walk ends here
        seen = {item.id}
        queue = deque([item.id])  # breadth first, each node's children in list order, as hierarchy.rs
        while queue:
            rows = self._connection.execute(
                "SELECT id FROM work_items WHERE parent_id = ? AND project_id = ? AND deleted_at IS NULL"
                " ORDER BY position, rowid",
                (queue.popleft(), item.project_id),
            )
            for row in rows:
                child = str(row[0])
                if child not in seen:
                    seen.add(child)
                    item.descendant_ids.append(child)
                    queue.append(child)
        return item

    def max_position(self, project_id: str, parent_id: str | None) -> int:
        """The highest live sibling position, 0 when there is none (so the first item is 1)."""
        last = self._scalar(
            "SELECT COALESCE(MAX(position), 0) FROM work_items"
            " WHERE project_id = ? AND parent_id IS ? AND deleted_at IS NULL",
            project_id,
            parent_id,
        )
        return int(str(last))

    def live_children(self, item_id: str) -> int:
        found = self._scalar(
            "SELECT COUNT(*) FROM work_items WHERE parent_id = ? AND deleted_at IS NULL", item_id
        )
        return int(str(found))

    def live_item_count(self, project_id: str) -> int:
        found = self._scalar(
            "SELECT COUNT(*) FROM work_items WHERE project_id = ? AND deleted_at IS NULL", project_id
        )
        return int(str(found))

    # ------------------------------------------------------------------ sprints

    def insert_sprint(self, sprint: pb.Sprint) -> None:
        self._insert("sprints", _SPRINT_COLUMNS, sprint)

    def save_sprint(self, sprint: pb.Sprint) -> None:
        self._save("sprints", _SPRINT_COLUMNS, sprint)

    def sprint(self, sprint_id: str) -> pb.Sprint | None:
        """The live sprint."""
        return self._one(pb.Sprint, "SELECT * FROM sprints WHERE id = ? AND deleted_at IS NULL", sprint_id)

    def has_active_sprint(self, project_id: str) -> bool:
        found = self._scalar(
            "SELECT 1 FROM sprints WHERE project_id = ? AND status = ? AND deleted_at IS NULL",
            project_id,
            pb.ACTIVE,
        )
        return found is not None

    def sprints(self, project_id: str, include_deleted: bool = False) -> list[pb.Sprint]:
        """A project's sprints, newest start first (as GetSprints answers)."""
        where = "" if include_deleted else "AND deleted_at IS NULL"
        return self._select(
            pb.Sprint,
            f"SELECT * FROM sprints WHERE project_id = ? {where} ORDER BY start_date DESC, rowid",
            project_id,
        )

    # ------------------------------------------------------------------ idempotency

    def stored_answer(self, user_id: str, message_id: str) -> tuple[bytes, bytes] | None:
        """``(request_digest, answer)`` of the create ``user_id`` first sent with ``message_id``, if any.

        Per user, so another user's message_id can neither read nor block this user's answers.
        """
        row = self._connection.execute(
            "SELECT request_digest, answer FROM idempotency WHERE user_id = ? AND message_id = ?",
            (user_id, message_id),
        ).fetchone()
        return None if row is None else (bytes(row[0]), bytes(row[1]))

    def store_answer(self, user_id: str, message_id: str, request_digest: bytes, answer: bytes) -> None:
        self._connection.execute(
            "INSERT OR IGNORE INTO idempotency (user_id, message_id, request_digest, answer) VALUES (?, ?, ?, ?)",
            (user_id, message_id, request_digest, answer),
        )
