"""pm-server's JWT check (``pm-auth/src/jwt_validator.rs`` and ``claims.rs``), on PyJWT.

What a token must be to open a connection, as upstream (jsonwebtoken 10 with
``Validation::new(alg)``, ``validate_nbf = true``, ``leeway = 30``):

- signed with the one configured algorithm: HS256 (a shared secret) or RS256 (a PEM public key);
  any other ``alg`` in the header, ``none`` included, is refused;
- ``exp`` present, and ``exp + 30 >= now`` (30 seconds of clock skew);
- ``nbf``, when present and numeric, not after ``now + 30``;
- the payload has a non-empty string ``sub`` and integer ``exp`` and ``iat`` (pm-auth's ``Claims``
  struct; ``iat`` is required but never compared with the clock); ``roles``, when present, is a list
  of strings;
- no ``aud``: pm-server configures no audience, and jsonwebtoken (since 9) then refuses every token
  that names one (a string or a list of strings); ``iss`` is not checked.

Every refusal is the same HTTP 401 at the handshake; the reason is only logged.

PyJWT is an optional dependency (the ``dev`` extra): only the JWT mode needs it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Final

__all__ = ["JWT_LEEWAY_SECONDS", "InvalidTokenError", "JwtValidator"]

#: jsonwebtoken's leeway as pm-auth sets it, for ``exp`` and ``nbf``.
JWT_LEEWAY_SECONDS: Final = 30
_I64: Final = (-(2**63), 2**63 - 1)


class InvalidTokenError(Exception):
    """The token does not open a connection; the message says why (for the log only)."""


def _is_i64(value: object) -> bool:
    return type(value) is int and _I64[0] <= value <= _I64[1]


def _numeric(value: object) -> int | None:
    """jsonwebtoken's reading of ``exp``/``nbf`` for the time checks: a u64, floats rounded half up."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and 0 <= value < 2.0**64):
        return None
    return math.floor(value + 0.5) if isinstance(value, float) else value if value >= 0 else None


def _is_audience(value: object) -> bool:
    """Whether jsonwebtoken parses ``aud`` as an audience (one string, or a list of strings)."""
    if isinstance(value, str):
        return True
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


class JwtValidator:
    """Validates bearer tokens as pm-server does; build it with :meth:`hs256` or :meth:`rs256`."""

    def __init__(self, key: Any, algorithm: str, *, now: Callable[[], float] = time.time) -> None:
        try:
            import jwt
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError(
                "JWT authentication in the reference server needs PyJWT: pip install 'pyjwt[crypto]'"
            ) from exc
        self._jwt = jwt
        self._key = key
        self._algorithm = algorithm
        self._now = now

    @classmethod
    def hs256(cls, secret: str | bytes, *, now: Callable[[], float] = time.time) -> JwtValidator:
        """A shared-secret validator (pm-server's ``auth.jwt_secret``)."""
        key = secret.encode() if isinstance(secret, str) else secret
        if not key:
            raise ValueError("the JWT secret must not be empty")
        return cls(key, "HS256", now=now)

    @classmethod
    def rs256(cls, public_key_pem: str, *, now: Callable[[], float] = time.time) -> JwtValidator:
        """A public-key validator (pm-server's ``auth.jwt_public_key_path``); the PEM is checked now."""
        validator = cls(None, "RS256", now=now)
        try:
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            validator._key = load_pem_public_key(public_key_pem.encode())
        except (ImportError, ValueError) as exc:
            raise ValueError(f"Invalid RSA public key: {exc}") from exc
        return validator

    @property
    def algorithm(self) -> str:
        return self._algorithm

    def subject(self, token: str) -> str:
        """The token's ``sub`` if pm-server would accept the token; :class:`InvalidTokenError` otherwise."""
        jwt = self._jwt
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[self._algorithm],
                # Only the signature and the header here: the claim rules are upstream's, below.
                options={
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_sub": False,
                    "verify_jti": False,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise InvalidTokenError(f"JWT decode failed: {exc}") from exc
        return self._check_claims(claims)

    def _check_claims(self, claims: dict[str, Any]) -> str:
        now = int(self._now())  # whole seconds, as jsonwebtoken's get_current_timestamp()
        if "exp" not in claims or _numeric(claims["exp"]) is None:
            raise InvalidTokenError("Missing required claim: exp")
        exp = _numeric(claims["exp"])
        if exp is not None and exp + JWT_LEEWAY_SECONDS < now:
            raise InvalidTokenError("Token expired")
        if _is_audience(claims.get("aud")):
            raise InvalidTokenError("InvalidAudience: the token names an audience and none is expected")
        nbf = _numeric(claims.get("nbf"))
        if nbf is not None and nbf > now + JWT_LEEWAY_SECONDS:
            raise InvalidTokenError("ImmatureSignature")
        # pm-auth's Claims struct: sub String, exp i64, iat i64, roles Vec<String> (default empty).
        sub = claims.get("sub")
        if not isinstance(sub, str):
            raise InvalidTokenError("sub must be a string")
        if not _is_i64(claims["exp"]) or not _is_i64(claims.get("iat")):
            raise InvalidTokenError("exp and iat must be integers")
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise InvalidTokenError("roles must be a list of strings")
        if not sub:
            raise InvalidTokenError("Invalid claim 'sub': sub (user_id) cannot be empty")
        return sub
