"""Duration parsing for options: .NET TimeSpan strings, ISO 8601, or numbers of seconds.

``"00:00:30"``, ``"1.00:00:00"`` (days), ``"00:00:00.250"``, ``"PT30S"``, ``"P1DT2H"``, ``30``,
``"0.25"`` all become ``datetime.timedelta``; the same rules hold for JSON and environment values.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

__all__ = ["Duration", "format_timespan", "parse_duration"]

_TIMESPAN = re.compile(
    r"^(?P<sign>-)?(?:(?P<days>\d+)\.)?(?P<hours>\d{1,2}):(?P<minutes>\d{1,2})"
    r"(?::(?P<seconds>\d{1,2})(?:\.(?P<fraction>\d{1,7}))?)?$"
)
_ISO = re.compile(
    r"^(?P<sign>-)?P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)


def parse_duration(value: Any) -> timedelta:
    """Parse one duration; raise ``ValueError`` with the accepted formats when it is none of them."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration cannot be a boolean")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError(f"expected a duration, got {type(value).__name__}")
    text = value.strip()
    try:
        return timedelta(seconds=float(text))
    except ValueError:
        pass
    match = _TIMESPAN.match(text)
    if match:
        g = match.groupdict()
        hours, minutes = int(g["hours"]), int(g["minutes"])
        seconds = int(g["seconds"] or 0)
        if hours > 23 or minutes > 59 or seconds > 59:
            raise ValueError(f"invalid TimeSpan {value!r}: hours <= 23, minutes and seconds <= 59")
        fraction = float("0." + g["fraction"]) if g["fraction"] else 0.0
        result = timedelta(days=int(g["days"] or 0), hours=hours, minutes=minutes, seconds=seconds + fraction)
        return -result if g["sign"] else result
    match = _ISO.match(text)
    if match and any(v is not None for k, v in match.groupdict().items() if k != "sign"):
        g = match.groupdict()
        result = timedelta(
            weeks=float(g["weeks"] or 0),
            days=float(g["days"] or 0),
            hours=float(g["hours"] or 0),
            minutes=float(g["minutes"] or 0),
            seconds=float(g["seconds"] or 0),
        )
        return -result if g["sign"] else result
    raise ValueError(
        f"invalid duration {value!r}: use a TimeSpan ('00:00:30', '1.00:00:00', '00:00:00.250'), "
        "ISO 8601 ('PT30S') or a number of seconds"
    )


def format_timespan(value: timedelta) -> str:
    """Render as a .NET TimeSpan string (the form appsettings.json uses)."""
    total_us = round(value / timedelta(microseconds=1))
    sign = "-" if total_us < 0 else ""
    total_us = abs(total_us)
    days, rem = divmod(total_us, 86_400_000_000)
    hours, rem = divmod(rem, 3_600_000_000)
    minutes, rem = divmod(rem, 60_000_000)
    seconds, micros = divmod(rem, 1_000_000)
    head = f"{sign}{days}." if days else sign
    tail = f".{micros:06d}".rstrip("0") if micros else ""
    return f"{head}{hours:02d}:{minutes:02d}:{seconds:02d}{tail}"


#: A ``timedelta`` option that accepts every format above and serialises back as a TimeSpan.
Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_timespan, return_type=str, when_used="json"),
]
