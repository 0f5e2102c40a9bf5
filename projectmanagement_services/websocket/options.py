"""WebSocketOptions: how to reach the server and how patient to be (appsettings ``WebSocket``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Final
from uuid import UUID

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from projectmanagement_services.durations import Duration
from projectmanagement_services.options_base import OptionsModel

__all__ = ["LIVE_OPTIONS", "WebSocketOptions"]

#: The options a running client applies live (``WebSocketClient.update_options``); changing any
#: other (the address, the identity, the frame and backpressure limits) needs a new client.
LIVE_OPTIONS: Final = ("connect_timeout", "request_timeout", "heartbeat_interval", "heartbeat_timeout")


class WebSocketOptions(OptionsModel):
    """Connection options. ``auth_token`` is a secret: never logged, never in a repr or a span."""

    server_url: str = "ws://127.0.0.1:8000/ws"
    auth_token: SecretStr | None = None
    user_id: UUID | None = None
    ca_file: Path | None = None
    connect_timeout: Duration = timedelta(seconds=10)
    request_timeout: Duration = timedelta(seconds=30)
    heartbeat_interval: Duration = timedelta(seconds=30)
    heartbeat_timeout: Duration = timedelta(seconds=60)
    max_message_size: int = Field(default=1_048_576, ge=1024)
    max_pending_requests: int = Field(default=1000, ge=1)

    @field_validator("server_url")
    @classmethod
    def _ws_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"must be a ws:// or wss:// URL with a host (got {value!r})")
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
