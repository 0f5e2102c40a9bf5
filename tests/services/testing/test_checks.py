"""The reference server's field rules and renderings, as pm-server (Rust) spells them."""

from __future__ import annotations

import datetime
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectmanagement_services.testing.checks import parse_uuid, require_project_key, sanitize
from projectmanagement_services.testing.handler_context import render_timestamp
from projectmanagement_services.testing.rejection import RequestRejected

CANONICAL = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.mark.parametrize(
    "spelling",
    [
        CANONICAL,
        CANONICAL.upper(),
        CANONICAL.replace("-", ""),
        "{" + CANONICAL + "}",
        "urn:uuid:" + CANONICAL,
    ],
)
def test_parse_uuid_accepts_the_rust_uuid_spellings_and_canonicalises(spelling: str) -> None:
    assert parse_uuid(spelling, "id") == CANONICAL


@pytest.mark.parametrize(
    "spelling",
    [
        "",
        CANONICAL[:8] + "-" + CANONICAL[8:],  # Python's UUID() ignores stray hyphens; Rust's parser does not
        "{" + CANONICAL,
        "uuid:" + CANONICAL,
        "URN:UUID:" + CANONICAL,
        "{" + CANONICAL.replace("-", "") + "}",
        CANONICAL + " ",
    ],
)
def test_parse_uuid_refuses_what_the_rust_parser_refuses(spelling: str) -> None:
    with pytest.raises(RequestRejected) as caught:
        parse_uuid(spelling, "sprint_id")
    assert (caught.value.code, caught.value.field) == ("VALIDATION_ERROR", "sprint_id")
    assert caught.value.message == "Validation failed: Invalid UUID format for sprint_id"


@given(st.uuids())
def test_parse_uuid_round_trips_every_uuid(value: uuid.UUID) -> None:
    assert parse_uuid(value.hex.upper(), "id") == str(value)


@pytest.mark.parametrize("key", ["AB", "a_1", "X" * 20])
def test_project_keys_of_2_to_20_word_characters_pass(key: str) -> None:
    require_project_key(key)


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("A", "key must be 2-20 characters"),
        ("A" * 21, "key must be 2-20 characters"),
        ("Ä", "key must contain only letters, numbers, and underscores"),  # 2 bytes: Rust counts bytes
        ("A-B", "key must contain only letters, numbers, and underscores"),
        ("ÄÄÄÄÄÄÄÄÄÄÄ", "key must be 2-20 characters"),  # 11 characters, 22 bytes
    ],
)
def test_bad_project_keys_are_invalid_message_without_field(key: str, text: str) -> None:
    with pytest.raises(RequestRejected) as caught:
        require_project_key(key)
    assert (caught.value.code, caught.value.field, caught.value.message) == (
        "INVALID_MESSAGE",
        None,
        f"Invalid message: {text}",
    )


def test_sanitize_trims_unicode_white_space_as_rust_trim() -> None:
    assert sanitize("\u3000\t title \u00a0\n") == "title"
    assert sanitize("\x1ftitle\x1c") == "\x1ftitle\x1c"  # Python's strip() would remove these


@given(st.integers(min_value=-62_135_596_800, max_value=253_402_300_799))
def test_render_timestamp_matches_rfc3339_where_python_has_dates(seconds: int) -> None:
    expected = datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat()
    assert render_timestamp(seconds) == expected


def test_render_timestamp_covers_chronos_range_beyond_pythons() -> None:
    assert render_timestamp(253_402_300_800) == "+10000-01-01T00:00:00+00:00"
    assert render_timestamp(-62_135_596_801) == "0000-12-31T23:59:59+00:00"
    assert render_timestamp(10**15) is None  # past year 262143: chrono has no such date
