"""The words ``pm`` accepts for an enum option, as plain tuples: building the parser imports no model.

The models' enums (``WorkItemType``, ``SprintStatus``, ``ProjectStatus``) live beside the pydantic
models; importing them for a choice list would load pydantic for every ``pm --help``. The values
here are the enums' values, in the same order (a test holds them equal); ``arguments`` turns a
word into the enum member when a command's arguments are parsed.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CLEAR",
    "CLEAR_WORD",
    "LOG_LEVELS",
    "OTEL_EXPORTERS",
    "PROJECT_STATUSES",
    "SPRINT_STATUSES",
    "WORK_ITEM_TYPES",
]

#: ``WorkItemType`` values.
WORK_ITEM_TYPES: Final = ("Epic", "Story", "Task")
#: ``SprintStatus`` values.
SPRINT_STATUSES: Final = ("Planned", "Active", "Completed", "Cancelled")
#: ``ProjectStatus`` values.
PROJECT_STATUSES: Final = ("Active", "Archived")
#: ``projectmanagement_core.models.CLEAR``: what a request carries to clear an id field.
CLEAR: Final = ""
#: What clears an id option on the command line (``--assignee none``); "" is accepted too.
CLEAR_WORD: Final = "none"
#: ``Telemetry:Exporter`` values (``--otel``).
OTEL_EXPORTERS: Final = ("none", "console", "otlp")
#: ``pm serve --log-level``.
LOG_LEVELS: Final = ("debug", "info", "warning", "error")
