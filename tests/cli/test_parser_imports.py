"""``pm --help`` and friends build the parser from plain data: what they import, not how long it takes.

Each check runs ``pm`` in a fresh interpreter (``sys.executable``; the test process has long
imported everything) and lists the modules it loaded. Wall time is the benchmark's business
(``benchmarks/cold_start.py``); a module list is exact and does not depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import typing

import pytest

from projectmanagement_core import models
from projectmanagement_services import telemetry
from projectmanagement_services.cli import build_parser
from projectmanagement_services.cli_commands import vocabulary
from projectmanagement_services.cli_commands.deferred import DeferredHandler

#: What a command loads when it runs, and ``--help``, ``--version`` or a tab completion must not.
HEAVY = (
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "dependency_injector",
    "websockets",
    "opentelemetry",
    "rich",
    "google.protobuf",
    "asyncio",
    "sqlite3",
    "projectmanagement_core.models",
    "projectmanagement_core.validation",
    "projectmanagement_services.settings",
    "projectmanagement_services.container",
    "projectmanagement_services.websocket",
    "projectmanagement_services.testing.server",
    "projectmanagement_services.cli_commands.output",
    "projectmanagement_services.cli_commands.runner",
)

#: Prints the heavy modules loaded (JSON, last line) after running ``pm`` with ARGV in-process.
RUN_PM = """
import json, sys
from projectmanagement_services.cli import main
code = main({argv!r})
heavy = {heavy!r}
loaded = sorted(m for m in sys.modules if m in heavy or m.startswith(tuple(h + "." for h in heavy)))
print()
print(json.dumps({{"code": code, "heavy": loaded, "metadata": "importlib.metadata" in sys.modules}}))
"""


def run_fresh(script: str, env: dict[str, str] | None = None) -> tuple[dict[str, object], str]:
    """Run ``script`` in a new interpreter; its last stdout line as JSON, and everything before it."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert completed.returncode == 0, completed.stderr
    *before, last = completed.stdout.strip().splitlines()
    result: dict[str, object] = json.loads(last)
    return result, "\n".join(before)


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["items", "create", "--help"],
        ["items", "update", "--help"],
        ["sprints", "create", "--help"],
        ["projects", "update", "--help"],
        ["config", "show", "--help"],
        ["demo", "--help"],
        ["health", "--help"],
        ["watch", "--help"],
        ["serve", "--help"],
    ],
    ids=" ".join,
)
def test_help_loads_no_model_settings_client_or_rich(argv: list[str]) -> None:
    result, printed = run_fresh(RUN_PM.format(argv=argv, heavy=HEAVY))
    assert result == {"code": 0, "heavy": [], "metadata": False}
    assert printed.startswith(f"usage: pm {' '.join(argv[:-1])}".rstrip())


def test_version_reads_the_metadata_and_nothing_heavy() -> None:
    result, printed = run_fresh(RUN_PM.format(argv=["--version"], heavy=HEAVY))
    assert result == {"code": 0, "heavy": [], "metadata": True}
    import projectmanagement_services

    assert printed.strip() == f"pm {projectmanagement_services.__version__}"


def test_a_usage_error_is_reported_without_loading_a_command() -> None:
    result, _ = run_fresh(RUN_PM.format(argv=["items", "create", "--type", "bogus"], heavy=HEAVY))
    assert result == {"code": 2, "heavy": [], "metadata": False}


def test_tab_completion_answers_without_loading_a_command() -> None:
    """The argcomplete path (``_ARGCOMPLETE`` set by the shell) builds the same light parser."""
    script = """
        import io, json, os, sys
        from projectmanagement_services.cli import build_parser, enable_completion
        answer = io.StringIO()
        enable_completion(build_parser(), output_stream=answer, exit_method=lambda code=0: None)
        heavy = {heavy!r}
        loaded = sorted(m for m in sys.modules if m in heavy or m.startswith(tuple(h + "." for h in heavy)))
        print(json.dumps({{"words": sorted(answer.getvalue().split()), "heavy": loaded}}))
    """
    line = "pm items create --t"
    env = {
        **__import__("os").environ,
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_IFS": " ",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        "COMP_TYPE": "9",
    }
    result, _ = run_fresh(script.format(heavy=HEAVY), env=env)
    assert result == {"words": ["--title", "--token", "--type"], "heavy": []}


def _handlers(parser: argparse.ArgumentParser, path: str = "pm") -> dict[str, object]:
    """Every command's ``handler`` default, by command path (``pm items create``)."""
    found: dict[str, object] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found |= _handlers(child, f"{path} {name}")
    handler = parser.get_default("handler")
    if handler is not None:
        found[path] = handler
    return found


def test_every_command_has_a_deferred_handler_that_resolves() -> None:
    """A deferred handler names its module and function as strings: a typo must fail here, not
    when a user first runs the command."""
    handlers = _handlers(build_parser())
    assert len(handlers) == 20  # demo, config x3, projects x4, items x5, sprints x4, watch, health, serve
    for path, handler in handlers.items():
        assert isinstance(handler, DeferredHandler), path
        assert callable(handler.resolve()), path


def test_the_vocabulary_is_the_models_enums() -> None:
    """The plain tuples the parser offers are exactly the enums the requests take."""
    assert tuple(member.value for member in models.WorkItemType) == vocabulary.WORK_ITEM_TYPES
    assert tuple(member.value for member in models.SprintStatus) == vocabulary.SPRINT_STATUSES
    assert tuple(member.value for member in models.ProjectStatus) == vocabulary.PROJECT_STATUSES
    assert vocabulary.CLEAR == models.CLEAR
    exporters = typing.get_args(telemetry.TelemetryOptions.model_fields["exporter"].annotation)
    assert set(vocabulary.OTEL_EXPORTERS) <= set(exporters)


@pytest.mark.parametrize(
    ("argv", "field", "expected"),
    [
        (["items", "create", "--project", "PM", "--title", "t"], "type", models.WorkItemType.TASK),
        (
            ["items", "create", "--project", "PM", "--title", "t", "--type", "epic"],
            "type",
            models.WorkItemType.EPIC,
        ),
        (
            ["sprints", "update", "00000000-0000-0000-0000-000000000001", "--status", "ACTIVE"],
            "status",
            models.SprintStatus.ACTIVE,
        ),
        (
            ["projects", "update", "00000000-0000-0000-0000-000000000001", "--status", "archived"],
            "status",
            models.ProjectStatus.ARCHIVED,
        ),
    ],
)
def test_enum_options_still_parse_to_the_models_enums(argv: list[str], field: str, expected: object) -> None:
    value = getattr(build_parser().parse_args(argv), field)
    assert value is expected
