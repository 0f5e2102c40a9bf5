"""Who may connect, and as whom: pm-server's handshake rules (``pm-ws/src/app_state.rs``).

Upstream decides everything before the upgrade, in this order: the identity (HTTP 401 when auth is on
and the token is missing or invalid), then the connection limit (HTTP 503). The reference server adds
its simple static-token mode (``auth_token`` and registered tokens) beside pm-server's JWT mode.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Final

from websockets.http11 import Request

from projectmanagement_services.testing.connection_limits import MIN_JWT_SECRET_LENGTH, check_max_connections
from projectmanagement_services.testing.identity import bearer_token, desktop_user_id, user_uuid
from projectmanagement_services.testing.jwt_auth import InvalidTokenError, JwtValidator

__all__ = ["TOKEN_NAMESPACE", "HandshakeGate", "Refusal"]

logger = logging.getLogger(__name__)

#: Namespace of the deterministic user id derived from a static bearer token.
TOKEN_NAMESPACE: Final = uuid.UUID("6f0c7a52-8a7e-4c43-9c1b-2f1d4f6b9e10")


class Refusal(int):
    """An HTTP status to refuse a handshake with (a distinct type from a user id string)."""


class HandshakeGate:
    """Resolves each handshake to a user id, or to the status pm-server would refuse it with.

    Args:
        auth_token: The static-token mode's token (not pm-server's); None when off.
        jwt_secret: pm-server's HS256 JWT mode; at least 32 characters.
        jwt_public_key: pm-server's RS256 JWT mode (a PEM public key).
        desktop_user_id: Without auth, the identity claimed when there is no ``?user_id=``.
        max_connections: Open connections beyond which a handshake is refused 503; None for no limit.
        now: Wall-clock Unix seconds, for token expiry.
    """

    def __init__(
        self,
        *,
        auth_token: str | None,
        jwt_secret: str | bytes | None,
        jwt_public_key: str | None,
        desktop_user_id: str | None,
        max_connections: int | None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._auth_token = auth_token
        self._jwt = _jwt_validator(auth_token, jwt_secret, jwt_public_key, now)
        self._desktop_user_id = desktop_user_id
        self._max_connections = check_max_connections(max_connections)
        self._tokens: dict[str, str] = {}

    @property
    def desktop_mode(self) -> bool:
        """No auth at all: identities come from ``?user_id=`` and are recorded as known users."""
        return self._auth_token is None and self._jwt is None

    def register_token(self, token: str, user_id: uuid.UUID | str) -> None:
        self._tokens[token] = str(uuid.UUID(str(user_id)))

    def user_for_token(self, token: str) -> uuid.UUID:
        registered = self._tokens.get(token)
        return uuid.UUID(registered) if registered is not None else uuid.uuid5(TOKEN_NAMESPACE, token)

    def decide(self, request: Request, open_connections: int) -> str | Refusal:
        """The connection's canonical user id, or the :class:`Refusal` status (401 before 503)."""
        claimed = self._claimed_identity(request)
        if claimed is None:
            return Refusal(401)
        if self._max_connections is not None and open_connections >= self._max_connections:
            return Refusal(503)
        return user_uuid(claimed)

    def _claimed_identity(self, request: Request) -> str | None:
        """The user id the handshake claims (not yet parsed as a UUID); None means HTTP 401."""
        if self.desktop_mode:
            return desktop_user_id(request.path, self._desktop_user_id)
        token = bearer_token(request.headers)
        if token is None:
            return None
        if self._jwt is not None:
            try:
                return self._jwt.subject(token)
            except InvalidTokenError as exc:
                logger.debug("JWT validation failed: %s", exc)
                return None
        if token != self._auth_token and token not in self._tokens:
            return None
        return str(self.user_for_token(token))


def _jwt_validator(
    auth_token: str | None, secret: str | bytes | None, public_key: str | None, now: Callable[[], float]
) -> JwtValidator | None:
    """pm-server's JWT mode from the constructor's arguments; None when it is off."""
    if secret is not None and public_key is not None:
        raise ValueError("give jwt_secret (HS256) or jwt_public_key (RS256), not both")
    if auth_token is not None and (secret is not None or public_key is not None):
        raise ValueError("auth_token (static token mode) and JWT mode exclude each other")
    if secret is not None:
        if len(secret) < MIN_JWT_SECRET_LENGTH:
            raise ValueError(f"jwt_secret must be at least {MIN_JWT_SECRET_LENGTH} characters, as pm-server")
        return JwtValidator.hs256(secret, now=now)
    if public_key is not None:
        return JwtValidator.rs256(public_key, now=now)
    return None
