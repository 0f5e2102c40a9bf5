"""Who a connection is, decided at the handshake exactly as pm-server decides it.

pm-server (``pm-ws/src/app_state.rs``) reads the identity once, before the upgrade:

- auth on: ``Authorization: Bearer <token>`` (case-sensitive scheme, one space, the rest is the
  token, nothing trimmed); the token's ``sub`` claim is the user;
- auth off (desktop mode): the ``user_id`` query parameter, else the configured desktop user id
  (``"local-user"`` by default);

and then parses that string with the ``uuid`` crate's ``Uuid::parse_str``. Whatever does not parse
(``"local-user"``, ``"user-1"``, a typo) becomes a fresh random UUID for that one connection: a
stranger who is a member of nothing.
"""

from __future__ import annotations

import re
import uuid
from typing import Final
from urllib.parse import parse_qsl, urlsplit

from websockets.datastructures import Headers, MultipleValuesError

from projectmanagement_services.testing.connection_limits import DEFAULT_DESKTOP_USER_ID

__all__ = [
    "DEFAULT_DESKTOP_USER_ID",
    "bearer_token",
    "desktop_user_id",
    "parse_upstream_uuid",
    "user_uuid",
]

_HEX: Final = "[0-9a-fA-F]"
_HYPHENATED: Final = f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
# The four spellings the uuid crate's parse_str accepts, and no others (Python's uuid.UUID is laxer:
# it drops hyphens anywhere and accepts "urn:uuid:" around a simple form).
_UPSTREAM_UUID: Final = re.compile(
    rf"{_HEX}{{32}}|{_HYPHENATED}|\{{{_HYPHENATED}\}}|urn:uuid:{_HYPHENATED}", re.ASCII
)


def parse_upstream_uuid(text: str) -> uuid.UUID | None:
    """``Uuid::parse_str``: simple, hyphenated, braced or ``urn:uuid:`` hyphenated; else None."""
    if _UPSTREAM_UUID.fullmatch(text) is None:
        return None
    return uuid.UUID(text.removeprefix("urn:uuid:"))


def user_uuid(claimed: str) -> str:
    """The user id a connection gets for ``claimed``: its canonical UUID, or a random one."""
    parsed = parse_upstream_uuid(claimed)
    return str(parsed if parsed is not None else uuid.uuid4())


def bearer_token(headers: Headers) -> str | None:
    """The token of the first ``Authorization`` header, as pm-server cuts it; None when absent.

    The scheme is exactly ``"Bearer "`` and the token is everything after it, untrimmed, so
    ``"bearer x"`` or ``"Basic x"`` are refused like a missing header.
    """
    try:
        value = headers["Authorization"]
    except KeyError:
        return None
    except MultipleValuesError:  # pm-server reads the first of several
        value = headers.get_all("Authorization")[0]
    if not value.isascii() or not value.startswith("Bearer "):
        return None
    return value[len("Bearer ") :]


def desktop_user_id(path: str, fallback: str | None) -> str:
    """Desktop mode's claimed identity: the last ``user_id`` query value, else ``fallback``.

    An empty or missing ``fallback`` stands for pm-config's ``session-<uuid>`` (a random identity).
    """
    values = [
        value for key, value in parse_qsl(urlsplit(path).query, keep_blank_values=True) if key == "user_id"
    ]
    if values:
        return values[-1]
    return fallback if fallback else f"session-{uuid.uuid4()}"
