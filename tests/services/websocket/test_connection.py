"""The websockets adapter's pure parts: URL, TLS context, header redaction, error translation."""

from __future__ import annotations

import logging
import ssl
from uuid import UUID

import pytest
from pydantic import SecretStr
from websockets.exceptions import ConnectionClosedError
from websockets.frames import Close

from projectmanagement_core.exceptions import ConnectionException, ValidationException
from projectmanagement_services.resilience.classification import is_transient
from projectmanagement_services.websocket.connection import (
    _translate,
    build_ssl_context,
    build_url,
    open_websocket,
)
from projectmanagement_services.websocket.log_redaction import HeaderRedactingLogger
from projectmanagement_services.websocket.options import WebSocketOptions
from tests.services.websocket.fakes import options

USER = UUID("61658f50-a7e7-40b9-bd6f-f9156b147913")


def test_url_unchanged_without_user_id() -> None:
    assert build_url(options(server_url="ws://127.0.0.1:1/ws")) == "ws://127.0.0.1:1/ws"


def test_user_id_is_added_to_the_query_and_replaces_a_stale_one() -> None:
    url = build_url(options(server_url="ws://127.0.0.1:1/ws?a=1&user_id=old", user_id=USER))
    assert url == f"ws://127.0.0.1:1/ws?a=1&user_id={USER}"


def test_plain_ws_has_no_tls_context() -> None:
    assert build_ssl_context(options(server_url="ws://127.0.0.1:1/ws")) is None


def test_wss_always_verifies_the_certificate_and_the_host(tmp_path) -> None:
    context = build_ssl_context(options(server_url="wss://example.test/ws"))
    assert context is not None
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname


def test_a_missing_ca_file_fails_loudly_rather_than_trusting_anything(tmp_path) -> None:
    with pytest.raises(OSError):
        build_ssl_context(
            WebSocketOptions.model_construct(
                server_url="wss://example.test/ws", ca_file=tmp_path / "missing.pem"
            )
        )


async def test_a_ca_file_that_slipped_past_validation_is_a_validation_error_never_retried(tmp_path) -> None:
    unchecked = WebSocketOptions.model_construct(
        **{**WebSocketOptions().__dict__, "server_url": "wss://127.0.0.1:1/ws", "ca_file": tmp_path}
    )
    with pytest.raises(ValidationException, match="CaFile") as caught:
        await open_websocket(unchecked)
    assert not is_transient(caught.value)


async def test_a_token_with_a_line_break_that_slipped_past_validation_is_never_sent() -> None:
    unchecked = WebSocketOptions.model_construct(
        **{**WebSocketOptions().__dict__, "auth_token": SecretStr("abc\r\nX-Injected: 1")}
    )
    with pytest.raises(ValidationException, match="AuthToken") as caught:
        await open_websocket(unchecked)
    assert not is_transient(caught.value)


def test_authorization_header_is_redacted_in_websockets_debug_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="test.redaction")
    logger = HeaderRedactingLogger(logging.getLogger("test.redaction"))
    logger.debug("> %s: %s", "Authorization", "Bearer secret-token")
    logger.debug("< %s: %s", "proxy-authorization", "Basic c2VjcmV0")
    logger.debug("> %s: %s", "Host", "127.0.0.1")
    assert [r.getMessage() for r in caplog.records] == [
        "> Authorization: <redacted>",
        "< proxy-authorization: <redacted>",
        "> Host: 127.0.0.1",
    ]
    assert all("secret" not in str(r.args) and "c2VjcmV0" not in str(r.args) for r in caplog.records)


def test_close_frames_keep_their_code() -> None:
    error = _translate(ConnectionClosedError(Close(1008, "rate limit"), None), "receiving")
    assert isinstance(error, ConnectionException)
    assert error.close_code == 1008
