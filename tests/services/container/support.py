"""Helpers of the container tests: settings pointing at a PmTestServer, and task/handler checks."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid4

from projectmanagement_services.settings import AppSettings
from projectmanagement_services.testing import PmTestServer

__all__ = ["TIMEOUT", "client_tasks", "deep_merge", "settings_for"]

TIMEOUT = 5.0

#: Task names the client and the reconnection service give their background tasks.
_CLIENT_TASK_PREFIXES = ("pm-ws", "pm-reconnect")


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def settings_for(
    server: PmTestServer, *, user_id: UUID | None = None, **sections: Mapping[str, Any]
) -> AppSettings:
    """Settings as a deployment would load them (repo appsettings.json, no environment variables),
    with ServerUrl/UserId pointing at ``server`` and ``sections`` (PascalCase) layered on top."""
    project_management: dict[str, Any] = {
        "WebSocket": {
            "ServerUrl": server.url,
            "UserId": str(user_id or uuid4()),
            "ConnectTimeout": "00:00:05",
            "RequestTimeout": "00:00:05",
        }
    }
    project_management = deep_merge(project_management, sections)
    return AppSettings.load(env={}, overrides={"ProjectManagement": project_management})


def client_tasks() -> set[asyncio.Task[Any]]:
    """Background tasks of clients and reconnection services still alive in this loop."""
    return {
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith(_CLIENT_TASK_PREFIXES) and not task.done()
    }
