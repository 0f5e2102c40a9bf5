"""The packages' front doors: what a user builds with is importable from the package itself."""

from __future__ import annotations

import projectmanagement_core
import projectmanagement_services


def test_services_export_what_an_application_builds_with() -> None:
    wanted = {
        "AppSettings",
        "SettingsError",
        "SettingsWarning",
        "create_container",
        "running",
        "PmContainer",
        "ResilientWebSocketClient",
        "WebSocketClient",
        "WebSocketOptions",
        "CircuitBreakerOptions",
        "RetryPolicyOptions",
        "ReconnectionOptions",
        "RateLimitOptions",
        "WorkItemStore",
        "SprintStore",
        "PmTestServer",
    }
    assert wanted <= set(projectmanagement_services.__all__)
    for name in projectmanagement_services.__all__:
        assert getattr(projectmanagement_services, name) is not None, name


def test_core_exports_the_models_and_exceptions() -> None:
    wanted = {
        "WorkItem",
        "Sprint",
        "Project",
        "CreateWorkItemRequest",
        "UpdateWorkItemRequest",
        "CreateProjectRequest",
        "CreateSprintRequest",
        "WorkItemType",
        "ConnectionState",
        "CLEAR",
        "ValidationException",
        "VersionConflictException",
        "ConnectionException",
        "CircuitOpenException",
    }
    assert wanted <= set(projectmanagement_core.__all__)
    for name in projectmanagement_core.__all__:
        assert getattr(projectmanagement_core, name) is not None, name
