"""The package exports exactly the public names meant, and each module declares ``__all__``."""

from __future__ import annotations

import importlib

import projectmanagement_services.websocket as package

MODULES = [
    "client",
    "connection",
    "connection_state",
    "event_slot",
    "health",
    "instrumentation",
    "log_redaction",
    "options",
    "pending_requests",
    "protocol",
    "timers",
]


def test_every_exported_name_resolves_and_none_is_private() -> None:
    for name in package.__all__:
        assert getattr(package, name) is not None
        assert not name.startswith("_")


def test_the_package_exports_the_public_api_and_no_internals() -> None:
    assert set(package.__all__) == {
        "DROP_LATE_ANSWER",
        "DROP_MALFORMED",
        "DROP_OVERSIZED",
        "DROP_UNKNOWN",
        "LEGAL_TRANSITIONS",
        "ConnectionFactory",
        "ConnectionHealthTracker",
        "HandshakeRejectedException",
        "IllegalTransitionError",
        "WebSocketClient",
        "WebSocketConnection",
        "WebSocketOptions",
        "WebsocketsConnection",
        "is_legal_transition",
        "open_websocket",
    }
    # Machinery stays importable from its module, not from the front door.
    for internal in (
        "FrameCodec",
        "Timer",
        "PendingRequests",
        "WebSocketInstrumentation",
        "redacting_logger",
    ):
        assert not hasattr(package, internal), internal


def test_every_module_declares_all_and_its_names_exist() -> None:
    for short in MODULES:
        module = importlib.import_module(f"projectmanagement_services.websocket.{short}")
        assert module.__all__, short
        for name in module.__all__:
            assert hasattr(module, name), f"{short}.{name}"
