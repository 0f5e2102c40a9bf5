"""Who ``pm`` is on the server when no token says it: the remembered user of ``pm config set-user``.

In open mode pm-server (and the reference server) gives a connection without ``?user_id=`` a fresh
random identity. A command run that way creates data that no later command can see again: the
next command is someone else. So a client command needs an identity (a token, ``--user-id``, the
settings' ``UserId``, or the user remembered in a small file by ``pm config set-user``) and refuses
to run without one, saying how to set it, instead of orphaning what it creates.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Final
from uuid import UUID

from projectmanagement_services.cli_commands.errors import EXIT_USAGE, CliError
from projectmanagement_services.settings import AppSettings

__all__ = [
    "NO_IDENTITY",
    "USER_FILE_VARIABLE",
    "read_remembered_user",
    "remember_user",
    "require_identity",
    "user_file",
]

#: Overrides where the remembered user is kept (tests, or several identities side by side).
USER_FILE_VARIABLE: Final = "PM_USER_FILE"
#: The refusal, with the one-line fix.
NO_IDENTITY: Final = (
    "no identity: without a token or a user id the server makes up a new user each time, and what "
    "this command creates could never be seen again; run 'pm config set-user' once "
    "(or pass --user-id UUID, or --token)"
)


def user_file(environ: dict[str, str] | None = None) -> Path:
    """``$PM_USER_FILE``, else ``$XDG_CONFIG_HOME/pm/user.json`` (``~/.config/pm/user.json``)."""
    variables = os.environ if environ is None else environ
    explicit = variables.get(USER_FILE_VARIABLE)
    if explicit:
        return Path(explicit)
    base = variables.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pm" / "user.json"


def read_remembered_user(environ: dict[str, str] | None = None) -> UUID | None:
    """The remembered ``UserId``, None when there is no file.

    Raises:
        CliError: the file exists but does not hold a user id (exit 2), naming the file.
    """
    path = user_file(environ)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE) from None
    try:
        return UUID(str(json.loads(text)["UserId"]))
    except (ValueError, KeyError, TypeError):
        raise CliError(f"{path} does not hold a UserId: run 'pm config set-user' again", EXIT_USAGE) from None


def remember_user(user_id: UUID, environ: dict[str, str] | None = None) -> Path:
    """Write ``{"UserId": ...}`` to ``user_file()`` (creating its directory); returns the path."""
    path = user_file(environ)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"UserId": str(user_id)}) + "\n", encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}", EXIT_USAGE) from None
    return path


def require_identity(settings: AppSettings) -> None:
    """Refuse (exit 2, with the fix) when neither a token nor a user id says who the command is."""
    web_socket = settings.project_management.web_socket
    if web_socket.user_id is None and web_socket.auth_token is None:
        raise CliError(NO_IDENTITY, EXIT_USAGE)
