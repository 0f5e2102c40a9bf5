"""AuthToken is a secret: never in reprs, dumps, errors, tracebacks or logs unless revealed on purpose."""

from __future__ import annotations

import logging
import traceback

import pytest
from pydantic import ValidationError

from projectmanagement_services.settings import AppSettings, SettingsError
from projectmanagement_services.websocket.options import WebSocketOptions

TOKEN = "tok-7d1e-very-secret-value"


def everything_rendered(error: SettingsError) -> str:
    return "\n".join(
        [str(error), repr(error), repr(error.errors), repr(error.sources), *traceback.format_exception(error)]
    )


def test_token_is_loaded_and_usable() -> None:
    settings = AppSettings.load(None, env={"ProjectManagement__WebSocket__AuthToken": TOKEN})
    token = settings.project_management.web_socket.auth_token
    assert token is not None
    assert token.get_secret_value() == TOKEN


def test_token_never_in_repr_str_or_dumps() -> None:
    settings = AppSettings.load(None, env={"ProjectManagement__WebSocket__AuthToken": TOKEN})
    rendered = [
        repr(settings),
        str(settings),
        repr(settings.project_management.web_socket),
        str(settings.model_dump()),
        settings.model_dump_json(),
        str(settings.as_appsettings()),
    ]
    for text in rendered:
        assert TOKEN not in text
    assert settings.as_appsettings()["ProjectManagement"]["WebSocket"]["AuthToken"] == "**********"


def test_token_only_revealed_when_asked() -> None:
    settings = AppSettings.load(None, env={"ProjectManagement__WebSocket__AuthToken": TOKEN})
    assert (
        settings.as_appsettings(reveal_secrets=True)["ProjectManagement"]["WebSocket"]["AuthToken"] == TOKEN
    )


def test_pydantic_alone_would_echo_the_token() -> None:
    """The hazard the settings layer guards against: pydantic's own errors print input values."""
    with pytest.raises(ValidationError) as caught:
        WebSocketOptions.model_validate({"AuthToken": [TOKEN]})
    assert TOKEN in str(caught.value)


def test_error_about_the_token_itself_does_not_echo_it(write_settings) -> None:
    path = write_settings({"ProjectManagement": {"WebSocket": {"AuthToken": [TOKEN]}}})
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(path, env={})
    assert caught.value.errors == [("ProjectManagement:WebSocket:AuthToken", "must be a string")]
    assert TOKEN not in everything_rendered(caught.value)


def test_error_about_another_field_does_not_echo_the_token(write_settings) -> None:
    path = write_settings({"ProjectManagement": {"WebSocket": {"AuthToken": TOKEN, "ServerUrl": "http://x"}}})
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(path, env={"ProjectManagement__WebSocket__Bogus": "1"})
    assert [p for p, _ in caught.value.errors] == [
        "ProjectManagement:WebSocket:ServerUrl",
        "ProjectManagement:WebSocket:Bogus",
    ]
    assert TOKEN not in everything_rendered(caught.value)


def test_token_copied_into_another_value_is_masked_in_its_message() -> None:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(
            None,
            env={
                "ProjectManagement__WebSocket__AuthToken": TOKEN,
                "ProjectManagement__WebSocket__ServerUrl": f"http://host/ws?access_token={TOKEN}",
            },
        )
    ((key_path, message),) = caught.value.errors
    assert key_path == "ProjectManagement:WebSocket:ServerUrl"
    assert "access_token=**********" in message
    assert TOKEN not in everything_rendered(caught.value)


def test_token_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    env = {"ProjectManagement__WebSocket__AuthToken": TOKEN}
    AppSettings.load(None, env=env)
    with pytest.raises(SettingsError):
        AppSettings.load(None, env={**env, "ProjectManagement__RetryPolicy__MaxAttempts": "0"})
    assert caplog.records, "the loader is expected to log which sources it read"
    assert TOKEN not in caplog.text
