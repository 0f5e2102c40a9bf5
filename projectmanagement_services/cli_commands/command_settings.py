"""How the shared options become ``AppSettings``: the command line as the last settings layer.

The command line is one more settings source, applied last as ``overrides`` exactly as an embedding
application passes its own: ``AppSettings.load(--config, environment=--environment, overrides=...)``.
So a flag, ``appsettings.json``, ``appsettings.{Environment}.json`` and ``ProjectManagement__...``
environment variables all meet in one validated object, and a bad value is reported by key path.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Any, Final

from projectmanagement_services.cli_commands.failures import describe_settings_error
from projectmanagement_services.cli_commands.global_options import TOKEN_VARIABLE
from projectmanagement_services.cli_commands.identity import read_remembered_user, user_file
from projectmanagement_services.settings import AppSettings, SettingsError, SettingsSources, SettingsWarning

__all__ = ["settings_and_sources_from_args", "settings_from_args"]

_SERVER_URL: Final = "ProjectManagement:WebSocket:ServerUrl"
_AUTH_TOKEN: Final = "ProjectManagement:WebSocket:AuthToken"
_USER_ID: Final = "ProjectManagement:WebSocket:UserId"
_EXPORTER: Final = "ProjectManagement:Telemetry:Exporter"

#: What ``AppSettings.load`` names the overrides layer (the command line, here).
_OVERRIDE_SOURCE: Final = "overrides in code"
#: Key path -> the flag that sets it, so settings errors name what the user typed.
_FLAGS: Final = {
    _SERVER_URL: "--server-url",
    _AUTH_TOKEN: "--token",
    _USER_ID: "--user-id",
    _EXPORTER: "--otel",
}


def settings_from_args(args: argparse.Namespace, environ: dict[str, str] | None = None) -> AppSettings:
    """Load settings as an embedding app would, with the flags as the last layer.

    With neither a token nor a ``UserId`` from any source, the user remembered by ``pm config
    set-user`` is used (see ``identity``).

    Raises:
        CliError: the settings are invalid (exit 2), every problem listed with its key path.
    """
    return settings_and_sources_from_args(args, environ)[0]


def settings_and_sources_from_args(
    args: argparse.Namespace, environ: dict[str, str] | None = None
) -> tuple[AppSettings, dict[str, str]]:
    """``settings_from_args`` and, per key path set by something other than a code default, its source.

    Sources read as a person would: a file's path, ``environment variable NAME``, the flag
    (``--server-url``), or the remembered user's file. ``-v`` prints the layers read on stderr.
    """
    variables = dict(os.environ) if environ is None else environ
    settings, sources = _load(args, variables)
    by_key = {
        key: _FLAGS.get(key, "the command line") if source == _OVERRIDE_SOURCE else source
        for key, source in sources.by_key.items()
    }
    if getattr(args, "verbose", 0):
        print(
            f"pm: settings from {'; '.join(sources.layers) or 'code defaults'}", file=sys.stderr, flush=True
        )
    web_socket = settings.project_management.web_socket
    if web_socket.user_id is not None or web_socket.auth_token is not None:
        return settings, by_key
    remembered = read_remembered_user(variables)
    if remembered is None:
        return settings, by_key
    by_key[_USER_ID] = str(user_file(variables))
    section = settings.project_management
    updated = settings.model_copy(
        update={
            "project_management": section.model_copy(
                update={"web_socket": web_socket.model_copy(update={"user_id": remembered})}
            )
        }
    )
    return updated, by_key


def _load(args: argparse.Namespace, variables: dict[str, str]) -> tuple[AppSettings, SettingsSources]:
    token = args.token if args.token is not None else variables.get(TOKEN_VARIABLE)
    web_socket: dict[str, Any] = {}
    if args.server_url is not None:
        web_socket["ServerUrl"] = args.server_url
    if token:
        web_socket["AuthToken"] = token
    if args.user_id is not None:
        web_socket["UserId"] = args.user_id
    overrides: dict[str, Any] = {}
    if web_socket:
        overrides["WebSocket"] = web_socket
    if args.otel is not None:
        overrides["Telemetry"] = {"Exporter": args.otel}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SettingsWarning)
        try:
            return AppSettings.load_with_sources(
                args.config,
                environment=args.environment,
                overrides={"ProjectManagement": overrides} if overrides else None,
                env=variables,
            )
        except SettingsError as exc:
            raise describe_settings_error(exc, _FLAGS) from None
        finally:
            # One line each, as every other message of pm (not Python's two-line warning format).
            for warning in caught:
                if issubclass(warning.category, SettingsWarning):
                    print(f"pm: warning: {warning.message}", file=sys.stderr, flush=True)
                else:
                    warnings.warn_explicit(
                        warning.message, warning.category, warning.filename, warning.lineno
                    )
