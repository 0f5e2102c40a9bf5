"""Library errors in the user's words: each becomes a ``CliError`` with its exit code, once, here.

Translation happens at one boundary, as httpx maps transport errors once at its boundary; it
imports pydantic, the settings and the connection, so it is loaded when a command runs, never
for ``--help``.
"""

from __future__ import annotations

from typing import Final

import pydantic

from projectmanagement_core.exceptions import (
    CircuitOpenException,
    ConnectionException,
    ProjectManagementException,
    RequestTimeoutException,
    ValidationException,
)
from projectmanagement_services.cli_commands.errors import (
    EXIT_FAILED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CliError,
)
from projectmanagement_services.settings import SettingsError
from projectmanagement_services.websocket.connection import HandshakeRejectedException

__all__ = ["connect_failure", "describe_failure", "describe_settings_error"]

#: A request field -> the flag that sets it, so a refused value names what the user typed.
_FLAG_OF_FIELD: Final = {
    "expected_version": "--version",
    "project_id": "--project",
    "item_type": "--type",
    "parent_id": "--parent",
    "assignee_id": "--assignee",
    "sprint_id": "--sprint",
    "story_points": "--points",
    "start_date": "--start",
    "end_date": "--end",
    **{
        name: f"--{name}"
        for name in ("title", "description", "status", "priority", "position", "name", "goal", "key")
    },
}
#: The environment variable ``pm`` reads a token from (``global_options.TOKEN_VARIABLE``).
_TOKEN_VARIABLE: Final = "PM_TOKEN"
#: What ``AppSettings.load`` names a CLI override's source; shown as the flag that set it instead.
_OVERRIDE_SOURCE: Final = "overrides in code"


def describe_settings_error(error: SettingsError, flags: dict[str, str]) -> CliError:
    """All problems in one message, each with its key path and where the bad value came from.

    ``flags`` maps a key path (``ProjectManagement:WebSocket:UserId``) to the option that set it
    (``--user-id``), so a typo on the command line is reported against the flag, not "code".
    """
    problems: list[str] = []
    for key_path, message in error.errors:
        text = f"{key_path} {message}" if key_path else message
        source = error.sources.get(key_path)
        if source == _OVERRIDE_SOURCE:
            source = flags.get(key_path, "the command line")
        problems.append(f"{text} (from {source})" if source else text)
    count = len(problems)
    return CliError(
        f"invalid settings ({count} error{'s' if count != 1 else ''}): " + "; ".join(problems), EXIT_USAGE
    )


def describe_failure(exc: BaseException, server_url: str) -> CliError | None:
    """The one line for an error raised while talking to the server; None for a programming error."""
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, ValidationException):
        return CliError(
            "invalid request: "
            + "; ".join(f"{_FLAG_OF_FIELD.get(e.field, e.field)}: {e.message}" for e in exc.errors)
        )
    if isinstance(exc, pydantic.ValidationError):
        fields = (
            f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        return CliError("invalid request: " + "; ".join(fields))
    if isinstance(exc, ConnectionException):
        return CliError(f"connection to {server_url} failed: {exc}", EXIT_UNREACHABLE)
    if isinstance(exc, RequestTimeoutException | CircuitOpenException):
        return CliError(f"{server_url}: {exc}")
    if isinstance(exc, ProjectManagementException):
        return CliError(str(exc))
    return None


def connect_failure(exc: ConnectionException, server_url: str, *, has_token: bool = False) -> CliError:
    """ "cannot connect to ws://...: <why>" in words; a refused token says so and how to give one.

    401/403 at the handshake is no outage: the server is up and said no, so it is exit 1 (refused),
    not 3 (unreachable), and the message names the ways to give a token.
    """
    if isinstance(exc, HandshakeRejectedException) and exc.status_code in (401, 403):
        what = "refused the token" if has_token else "requires a token"
        return CliError(
            f"{server_url} {what} (HTTP {exc.status_code}): give one with --token or ${_TOKEN_VARIABLE}, "
            "or the settings' WebSocket:AuthToken",
            EXIT_FAILED,
        )
    why = str(exc).replace(f" while connecting to {server_url}", "")
    hint = " (is the server running?)" if why.startswith("connection refused") else ""
    return CliError(f"cannot connect to {server_url}: {why}{hint}", EXIT_UNREACHABLE)
