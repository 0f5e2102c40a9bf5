"""The chaos engine behind ``pm demo`` and ``benchmarks/chaos_soak.py``: prove resilience by abuse.

For ``duration_s`` seconds, ``workers`` tasks create, update and delete work items through one
``ResilientWebSocketClient`` while a seeded fault schedule drops connections, restarts the server,
swallows answers, injects error bursts and sends malformed frames. A second client, subscribed to
the project, keeps a ``WorkItemStore``. Both clients are built by the DI container
(``create_container``) from the caller's ``AppSettings`` with the demo's own layer on top (its
server, a user id, demo-sized timings: ``demo_settings``), exactly as an embedding application
builds them, so the user's Telemetry settings apply to the demo too. An operation whose outcome
the chaos hid (it failed, but the server may have applied it) is re-sent by its worker, and
whatever is still waiting when the chaos ends is settled then: a create with its original
message_id, which the server de-duplicates; a delete again, where NOT_FOUND means it had applied. Then the engine checks what resilience
promises: no item lost or duplicated (by count and an id checksum), the subscriber's store equal to
the server, no request left pending, no task left running, no unretrieved task exception.

The reference server runs in a child process (``python -m projectmanagement_services.demo
--control-server DB``), driven over its stdin/stdout with one JSON command a line. So its memory
is not the client's, a restart is a real process-level listener restart, and the client's RSS
growth is measured alone.

Usage::

    report = await run_chaos(60, seed=7, on_progress=print, settings=AppSettings.load("appsettings.json"))
    assert report.passed, report.failed_checks
"""

from typing import TYPE_CHECKING

from projectmanagement_services._lazy import lazy_exports
from projectmanagement_services.demo.faults import (
    DEMO_RATE_LIMIT_BURST,
    DEMO_RATE_LIMIT_PERIOD_S,
    FAULT_KINDS,
    Fault,
    fault_schedule,
)
from projectmanagement_services.demo.report import (
    ChaosCheck,
    ChaosEvent,
    ChaosProgress,
    ChaosReport,
    rss_bytes,
)

if TYPE_CHECKING:
    from projectmanagement_services.demo.run import run_chaos
    from projectmanagement_services.demo.server_process import ServerProcess
    from projectmanagement_services.demo.stack import ResilientStack, build_resilient_stack, demo_settings

#: The engine and its stack build on the DI container: imported on first use (PEP 562), so that
#: reading the report types (``pm demo``'s view, ``pm --help``) does not load dependency-injector.
_LAZY: dict[str, str] = {
    "run_chaos": "projectmanagement_services.demo.run",
    "ServerProcess": "projectmanagement_services.demo.server_process",
    "ResilientStack": "projectmanagement_services.demo.stack",
    "build_resilient_stack": "projectmanagement_services.demo.stack",
    "demo_settings": "projectmanagement_services.demo.stack",
}


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)

__all__ = [
    "DEMO_RATE_LIMIT_BURST",
    "DEMO_RATE_LIMIT_PERIOD_S",
    "FAULT_KINDS",
    "ChaosCheck",
    "ChaosEvent",
    "ChaosProgress",
    "ChaosReport",
    "Fault",
    "ResilientStack",
    "ServerProcess",
    "build_resilient_stack",
    "demo_settings",
    "fault_schedule",
    "rss_bytes",
    "run_chaos",
]
