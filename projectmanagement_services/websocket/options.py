"""WebSocketOptions: how to reach the server and how patient to be (appsettings ``WebSocket``)."""

from __future__ import annotations

import ipaddress
import ssl
from datetime import timedelta
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from projectmanagement_services.durations import Duration
from projectmanagement_services.options_base import OptionsModel, rule_error

__all__ = ["LIVE_OPTIONS", "WebSocketOptions"]

#: The options a running client applies live (``WebSocketClient.update_options``); changing any
#: other (the address, the identity, the frame and backpressure limits) needs a new client.
LIVE_OPTIONS: Final = ("connect_timeout", "request_timeout", "heartbeat_interval", "heartbeat_timeout")


class WebSocketOptions(OptionsModel):
    """Connection options. ``auth_token`` is a secret: never logged, never in a repr or a span.

    Everything a connection needs is checked here, at start-up, rather than failing every connect
    as "unreachable": the URL's port, the ``CaFile`` bundle, the token's characters (an HTTP header
    value), and that a token never travels in clear to another host: ``ws://`` with a token is
    refused unless the host is a loopback address or ``AllowInsecureToken`` says it is meant.
    """

    server_url: str = "ws://127.0.0.1:8000/ws"
    #: Send ``AuthToken`` over plain ``ws://`` to a non-loopback host (a trusted private network).
    allow_insecure_token: bool = False
    auth_token: SecretStr | None = None
    user_id: UUID | None = None
    ca_file: Path | None = None
    connect_timeout: Duration = timedelta(seconds=10)
    request_timeout: Duration = timedelta(seconds=30)
    heartbeat_interval: Duration = timedelta(seconds=30)
    heartbeat_timeout: Duration = timedelta(seconds=60)
    max_message_size: int = Field(default=16 * 1_048_576, ge=1024, le=64 * 1_048_576)
    max_pending_requests: int = Field(default=1000, ge=1, le=100_000)

    @field_validator("server_url")
    @classmethod
    def _ws_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"must be a ws:// or wss:// URL with a host (got {value!r})")
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0:
            raise ValueError(f"must have a port between 1 and 65535, or none (got {value!r})")
        return value

    @field_validator("auth_token")
    @classmethod
    def _token_fits_a_header(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value()
        if not all(" " <= char <= "~" for char in token):
            raise rule_error("must be printable ASCII (no line breaks, no non-ASCII characters)")
        url = info.data.get("server_url")
        if isinstance(url, str) and not info.data.get("allow_insecure_token", False):
            parts = urlsplit(url)
            if parts.scheme == "ws" and not _is_loopback(parts.hostname or ""):
                raise rule_error(
                    f"would be sent in clear over ws:// to {parts.hostname}: use wss://, "
                    "or set WebSocket:AllowInsecureToken to true on a trusted network"
                )
        return value

    @field_validator("ca_file")
    @classmethod
    def _ca_bundle(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        if not value.exists():
            raise ValueError(f"file {value} does not exist")
        if not value.is_file():
            raise ValueError(f"{value} is not a file")
        try:
            ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(value))
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise ValueError(f"{value} is not a PEM certificate bundle ({exc.__class__.__name__})") from None
        return value

    @field_validator("connect_timeout", "request_timeout", "heartbeat_interval", "heartbeat_timeout")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be a positive duration")
        return value

    @field_validator("heartbeat_timeout")
    @classmethod
    def _timeout_after_interval(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        interval = info.data.get("heartbeat_interval")
        if isinstance(interval, timedelta) and value <= interval:
            raise ValueError("must be > HeartbeatInterval")
        return value

    @property
    def is_secure(self) -> bool:
        return self.server_url.startswith("wss://")


def _is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address: traffic that never leaves this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
