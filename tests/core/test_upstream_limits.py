"""The rules only pm-server v0.1.4 has, at and beyond each boundary: sprint date range, id spellings.

message_validator.rs validate_sprint_create: start and end must each lie within [now - 365 days,
now + 5 * 365 days]; Rust's ``Uuid::parse_str`` accepts the simple, hyphenated, braced and urn forms.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from projectmanagement_core.exceptions import ValidationException
from projectmanagement_core.models import CreateSprintRequest, UpdateSprintRequest
from projectmanagement_core.validation import (
    SPRINT_DATES_FUTURE,
    SPRINT_DATES_PAST,
    parse_uuid,
    validate_request,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PROJECT = UUID("33333333-3333-4333-8333-333333333333")
EARLIEST = NOW - timedelta(days=365)
LATEST = NOW + timedelta(days=5 * 365)
SECOND = timedelta(seconds=1)


def _fields(start: datetime, end: datetime) -> list[str]:
    request = CreateSprintRequest(project_id=PROJECT, name="S", start_date=start, end_date=end)
    try:
        validate_request(request, now=NOW)
    except ValidationException as exc:
        return exc.fields
    return []


def test_the_range_is_a_year_back_and_five_years_ahead() -> None:
    assert (timedelta(days=365), timedelta(days=1825)) == (SPRINT_DATES_PAST, SPRINT_DATES_FUTURE)


@pytest.mark.parametrize(
    ("start", "fields"),
    [
        (EARLIEST, []),  # at the boundary: accepted, as pm-server compares with <
        (EARLIEST - SECOND, ["start_date"]),
        (EARLIEST - timedelta(days=30), ["start_date"]),
    ],
    ids=["at", "1s-beyond", "30d-beyond"],
)
def test_start_no_earlier_than_a_year_ago(start: datetime, fields: list[str]) -> None:
    assert _fields(start, NOW) == fields


@pytest.mark.parametrize(
    ("end", "fields"),
    [(LATEST, []), (LATEST + SECOND, ["end_date"]), (LATEST + timedelta(days=1), ["end_date"])],
    ids=["at", "1s-beyond", "1d-beyond"],
)
def test_end_no_later_than_five_years_ahead(end: datetime, fields: list[str]) -> None:
    assert _fields(NOW, end) == fields


def test_both_dates_beyond_and_inverted_report_every_rule() -> None:
    start, end = LATEST + timedelta(days=10), EARLIEST - timedelta(days=10)
    assert sorted(_fields(start, end)) == ["end_date", "end_date", "start_date"]


def test_the_range_follows_the_clock_it_is_given() -> None:
    start = NOW - timedelta(days=400)
    assert _fields(start, start + timedelta(days=14)) == ["start_date", "end_date"]
    later = CreateSprintRequest(
        project_id=PROJECT, name="S", start_date=start, end_date=start + timedelta(days=14)
    )
    validate_request(later, now=start)  # a year earlier the same sprint was fine


def test_an_update_may_move_dates_anywhere_as_pm_server_checks_none_there() -> None:
    request = UpdateSprintRequest(
        sprint_id=PROJECT, expected_version=1, start_date=LATEST + timedelta(days=1), end_date=EARLIEST
    )
    validate_request(request, now=NOW)  # no exception


CANONICAL = UUID("67e55044-10b1-426f-9247-bb680e5fe0c8")


@pytest.mark.parametrize(
    "text",
    [
        "67e55044-10b1-426f-9247-bb680e5fe0c8",
        "67E55044-10B1-426F-9247-BB680E5FE0C8",
        "67e5504410b1426f9247bb680e5fe0c8",
        "{67e55044-10b1-426f-9247-bb680e5fe0c8}",
        "urn:uuid:67e55044-10b1-426f-9247-bb680e5fe0c8",
    ],
    ids=["hyphenated", "upper", "simple", "braced", "urn"],
)
def test_every_spelling_pm_server_parses_is_accepted_and_canonicalised(text: str) -> None:
    assert parse_uuid(text) == CANONICAL
    assert str(parse_uuid(text)) == "67e55044-10b1-426f-9247-bb680e5fe0c8"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "67e5-5044-10b1-426f-9247bb680e5fe0c8",  # Python's UUID() takes misplaced hyphens; Rust does not
        "67e55044-10b1-426f-9247-bb680e5fe0c",
        "67e55044-10b1-426f-9247-bb680e5fe0c8 ",
        "{67e5504410b1426f9247bb680e5fe0c8}",
        "67e55044-10b1-426f-9247-bb680e5fe0cg",
    ],
    ids=["empty", "misplaced-hyphens", "short", "trailing-space", "braced-simple", "not-hex"],
)
def test_spellings_pm_server_refuses_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a UUID"):
        parse_uuid(text)
