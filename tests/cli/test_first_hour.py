"""A newcomer's first hour with ``pm`` (issue 16): identity, settings, usage errors, --version, --json.

Everything runs through the entry point (``main``) or as a real process with ``sys.executable``.
"""

from __future__ import annotations

import asyncio
import json
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from projectmanagement_services.cli import main
from projectmanagement_services.testing import PmTestServer
from tests.cli.conftest import Result, run_pm_process
from tests.services.settings.test_hostile_values import DURATION_OPTIONS
from tests.support.settings_environment import isolate_settings_sources


@pytest.fixture(autouse=True)
def _clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ambient settings variables, no ./appsettings.json, and a user file of the test's own."""
    isolate_settings_sources(monkeypatch, working_directory=tmp_path)
    monkeypatch.setenv("PM_USER_FILE", str(tmp_path / "pm-user.json"))


async def _pm(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(args))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


# -- identity ------------------------------------------------------------------------------------


async def test_a_client_command_without_identity_is_refused_with_the_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with PmTestServer() as server:
        result = await _pm(
            capsys, "projects", "create", "--key", "ORF", "--title", "t", "--server-url", server.url
        )
        assert result.code == 2
        line = _one_line(result.err)
        assert "no identity" in line
        assert "pm config set-user" in line
        assert server.projects() == []  # nothing was created for a user nobody can be again


async def test_a_remembered_user_sees_what_it_created_in_the_next_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    remembered = await _pm(capsys, "config", "set-user")
    assert remembered.code == 0
    user_id = json.loads((tmp_path / "pm-user.json").read_text())["UserId"]
    assert user_id in remembered.out
    async with PmTestServer() as server:
        created = await _pm(
            capsys,
            "projects",
            "create",
            "--key",
            "MINE",
            "--title",
            "t",
            "--server-url",
            server.url,
            "--json",
        )
        assert created.code == 0, created.err
        assert created.json()["created_by"] == user_id
        listed = await _pm(capsys, "--json", "projects", "list", "--server-url", server.url)
        assert listed.code == 0, listed.err
        assert [p["key"] for p in listed.json()] == ["MINE"]


async def test_set_user_takes_an_explicit_id_and_refuses_a_malformed_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    user = "6f2b7c1e-3a4d-4e5f-8a9b-0c1d2e3f4a5b"
    assert (await _pm(capsys, "config", "set-user", user)).code == 0
    assert json.loads((tmp_path / "pm-user.json").read_text()) == {"UserId": user}
    bad = await _pm(capsys, "config", "set-user", "nope")
    assert bad.code == 2
    assert "not a UUID" in _one_line(bad.err)


async def test_health_needs_no_identity(capsys: pytest.CaptureFixture[str]) -> None:
    async with PmTestServer() as server:
        result = await _pm(capsys, "health", "--count", "1", "--server-url", server.url)
    assert result.code == 0, result.err


# -- usage errors, --version, --json placement -----------------------------------------------------


async def test_version_comes_from_the_installed_distribution() -> None:
    result = await run_pm_process("--version", timeout=30)
    assert result.code == 0
    assert result.out.strip() == f"pm {metadata.version('pm-resilience')}"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["health", "--count", "abc"], "pm health: argument --count: invalid value: 'abc'"),
        (["demo", "--duration", "x"], "pm demo: argument --duration: invalid value: 'x'"),
        (["items", "create", "--title", "t"], "pm items create: the following arguments are required"),
        (["nonsense"], "pm: argument COMMAND: invalid choice: 'nonsense'"),
    ],
)
async def test_usage_errors_are_one_line_with_where_to_read_more(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    result = await _pm(capsys, *args)
    assert result.code == 2
    line = _one_line(result.err)
    assert line.startswith(expected)
    assert line.endswith("--help)")
    assert "_positive_int" not in line
    assert "_duration" not in line


async def test_json_before_the_command_is_honoured(capsys: pytest.CaptureFixture[str]) -> None:
    async with PmTestServer() as server:
        user = "--user-id=6f2b7c1e-3a4d-4e5f-8a9b-0c1d2e3f4a5b"
        before = await _pm(capsys, "--json", user, "projects", "list", "--server-url", server.url)
        after = await _pm(capsys, "projects", "list", "--json", user, "--server-url", server.url)
    assert before.code == after.code == 0
    assert before.json() == after.json() == []


# -- settings: one line, exit 2, every key -------------------------------------------------------


@pytest.mark.parametrize("source", ["file", "env"])
@pytest.mark.parametrize(("section", "key"), DURATION_OPTIONS, ids=str)
async def test_an_overflowing_duration_is_exit_2_on_one_line_naming_the_key(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    section: str,
    key: str,
    source: str,
) -> None:
    if source == "file":
        (tmp_path / "appsettings.json").write_text(
            '{"ProjectManagement": {"' + section + '": {"' + key + '": 1e999}}}'
        )
    else:
        monkeypatch.setenv(f"ProjectManagement__{section}__{key}", "99999999999.00:00:00")
    result = await _pm(capsys, "config", "validate")
    assert result.code == 2
    line = _one_line(result.err)
    assert f"ProjectManagement:{section}:{key} must be a" in line
    assert "(1 error)" in line


async def test_every_bad_key_is_reported_in_the_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "appsettings.json").write_text(
        json.dumps(
            {
                "ProjectManagement": {
                    "RetryPolicy": {"MaxDelay": -5},
                    "CircuitBreaker": {"FailureThreshold": True},
                    "WebSocket": {"ServerUrl": "ws://127.0.0.1:99999/ws", "AuthToken": "tok\nen"},
                }
            }
        )
    )
    result = await _pm(capsys, "config", "validate")
    assert result.code == 2
    line = _one_line(result.err)
    assert "(4 errors)" in line
    assert "MaxDelay must be a positive duration" in line
    assert "FailureThreshold must be a number, not true or false" in line
    assert "ServerUrl must have a port between 1 and 65535" in line
    assert "AuthToken must be printable ASCII" in line
    assert "tok\nen" not in result.err


async def test_an_environment_name_with_a_path_is_exit_2_on_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = await _pm(capsys, "config", "validate", "--environment", "../etc")
    assert result.code == 2
    assert "environment name '../etc' must be letters, digits" in _one_line(result.err)


async def test_settings_warnings_are_one_line_each(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "appsettings.json").write_text(json.dumps({"ProjectMangement": {}}))
    (tmp_path / "appsettings.Staging.json").write_text("{}")
    result = await _pm(capsys, "config", "validate", "--environment", "staging")
    assert result.code == 0
    assert result.out.strip() == "settings are valid"
    warnings = result.err.strip().splitlines()
    assert len(warnings) == 2
    assert any("did you mean 'ProjectManagement'?" in w for w in warnings)
    assert any("did you mean appsettings.Staging.json?" in w for w in warnings)
    assert all(w.startswith("pm: warning: ") for w in warnings)


async def test_config_show_masks_secrets_and_names_each_source(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "appsettings.json").write_text(
        json.dumps({"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 4}}})
    )
    monkeypatch.setenv("ProjectManagement__CircuitBreaker__FailureThreshold", "7")
    monkeypatch.setenv("PM_TOKEN", "very-secret-token")
    result = await _pm(capsys, "config", "show", "--sources", "--json", "--server-url", "ws://127.0.0.1:9/ws")
    assert result.code == 0, result.err
    assert "very-secret-token" not in result.out
    shown: dict[str, Any] = result.json()
    assert shown["settings"]["ProjectManagement"]["WebSocket"]["AuthToken"] == "**********"
    sources = shown["sources"]
    assert sources["ProjectManagement:RetryPolicy:MaxAttempts"] == str(tmp_path / "appsettings.json")
    assert sources["ProjectManagement:CircuitBreaker:FailureThreshold"] == (
        "environment variable ProjectManagement__CircuitBreaker__FailureThreshold"
    )
    assert sources["ProjectManagement:WebSocket:ServerUrl"] == "--server-url"
    assert "ProjectManagement:Reconnection:MaxAttempts" not in sources  # a code default

    table = await _pm(capsys, "config", "show", "--sources")
    assert "ProjectManagement:RetryPolicy:MaxAttempts = 4  (" in table.out
    assert "ProjectManagement:Reconnection:MaxAttempts = 10  (default)" in table.out


async def test_verbose_says_which_settings_files_were_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "appsettings.json").write_text("{}")
    result = await _pm(capsys, "config", "validate", "-v")
    assert result.code == 0
    assert f"pm: settings from {tmp_path / 'appsettings.json'}" in result.err


# -- telemetry without a collector -----------------------------------------------------------------


async def test_otlp_without_a_collector_exits_quickly_and_warns_once() -> None:
    import os
    import time

    from tests.cli.conftest import free_port

    closed = free_port()
    async with PmTestServer() as server:
        started = time.monotonic()
        result = await run_pm_process(
            "health", "--count", "2", "--server-url", server.url, "--otel", "otlp",
            timeout=60,
            env={**os.environ, "ProjectManagement__Telemetry__OtlpEndpoint": f"http://127.0.0.1:{closed}"},
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert result.code == 0, result.err
    assert "quality" in result.out  # the result printed
    # A bound on a hang, not a speed claim: the exporter's default made this about 30 s.
    assert elapsed < 10, elapsed
    assert result.err.count("cannot export to the OTLP collector") == 1
    assert "Transient error" not in result.err


# -- connection errors in words --------------------------------------------------------------------


async def test_a_missing_token_says_the_server_requires_one(capsys: pytest.CaptureFixture[str]) -> None:
    async with PmTestServer(auth_token="s3cret") as secured:
        result = await _pm(capsys, "health", "--count", "1", "--server-url", secured.url)
    assert result.code == 1
    line = _one_line(result.err)
    assert line.startswith(
        f"pm: {secured.url} requires a token (HTTP 401): give one with --token or $PM_TOKEN"
    )


async def test_an_unknown_host_reads_host_not_found(capsys: pytest.CaptureFixture[str]) -> None:
    url = "ws://no-such-host.invalid:8000/ws"
    result = await _pm(capsys, "health", "--count", "1", "--server-url", url)
    assert result.code == 3
    assert _one_line(result.err) == f"pm: cannot connect to {url}: host not found"


async def test_a_refused_connection_from_the_library_names_the_url() -> None:
    from projectmanagement_core.exceptions import ConnectionException
    from projectmanagement_services.websocket.connection import open_websocket
    from projectmanagement_services.websocket.options import WebSocketOptions
    from tests.cli.conftest import free_port

    url = f"ws://127.0.0.1:{free_port()}/ws"
    with pytest.raises(ConnectionException) as caught:
        await open_websocket(WebSocketOptions(server_url=url))
    assert str(caught.value) == f"connection refused while connecting to {url}"


# -- retrying visibly ------------------------------------------------------------------------------


async def test_retries_are_shown_as_they_happen_and_the_final_error_counts_attempts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = "6f2b7c1e-3a4d-4e5f-8a9b-0c1d2e3f4a5b"
    monkeypatch.setenv("ProjectManagement__WebSocket__RequestTimeout", "0.3")
    monkeypatch.setenv("ProjectManagement__RetryPolicy__InitialDelay", "0.05")
    monkeypatch.setenv("ProjectManagement__RetryPolicy__MaxAttempts", "3")
    async with PmTestServer() as server:
        created = await _pm(
            capsys, "projects", "create", "--key", "SWAL", "--title", "t",
            "--server-url", server.url, "--user-id", user, "--json",
        )  # fmt: skip
        assert created.code == 0, created.err
        server.faults.swallow_answers(100)
        result = await _pm(
            capsys,
            "items",
            "list",
            "--project",
            created.json()["id"],
            "--server-url",
            server.url,
            "--user-id",
            user,
        )
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith("pm: GetWorkItems: attempt 1 of 3 failed (")
    assert "retrying in 0.1 s" in lines[0] or "retrying in 0.0 s" in lines[0]
    assert lines[1].startswith("pm: GetWorkItems: attempt 2 of 3 failed (")
    assert lines[2].startswith("pm: ")
    assert lines[2].endswith("(3 attempts)")


@pytest.mark.parametrize("interval", ["inf", "nan", "-1", "1e9"])
async def test_health_refuses_an_interval_that_never_ends(
    capsys: pytest.CaptureFixture[str], interval: str
) -> None:
    result = await _pm(capsys, "health", "--interval", interval)
    assert result.code == 2
    assert "argument --interval: must be between 0 and 60 seconds" in _one_line(result.err)
