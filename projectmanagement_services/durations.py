"""Duration parsing for options: .NET TimeSpan strings, ISO 8601, or numbers of seconds.

``"00:00:30"``, ``"1.00:00:00"`` (days), ``"00:00:00.250"``, ``"PT30S"``, ``"P1DT2H"``, ``30``,
``"0.25"`` all become ``datetime.timedelta``; the same rules hold for JSON and environment values.

Every duration is finite and at most ``MAX_DURATION`` (one week): no option of this client needs
more, and a bigger value (``inf``, ``1e400``, ``99999999999.00:00:00``) would otherwise overflow
``timedelta`` or the event loop's clock far from the key that caused it.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, PlainSerializer

__all__ = ["MAX_DURATION", "Duration", "format_timespan", "parse_duration"]

#: The longest duration any option accepts (and the shortest, negated): one week.
MAX_DURATION: Final = timedelta(days=7)
#: Longer text is no duration of at most a week (and would cost a long int conversion to find out).
_MAX_TEXT: Final = 64
_OUT_OF_RANGE: Final = "must be a duration of at most 7.00:00:00 (one week)"

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
    """Parse one duration; raise ``ValueError`` with the accepted formats when it is none of them.

    A value beyond ``MAX_DURATION`` either way, or not finite, is a ``ValueError`` naming the rule
    (never an ``OverflowError``), so settings report it on its key like any other bad value.
    """
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        raise ValueError(_OUT_OF_RANGE)
    try:
        result = _parse(value)
    except OverflowError:
        raise ValueError(_OUT_OF_RANGE) from None
    if abs(result) > MAX_DURATION:
        raise ValueError(_OUT_OF_RANGE)
    return result


def _parse(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration cannot be a boolean")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite duration")
    if isinstance(value, int | float):
        if abs(value) > MAX_DURATION.total_seconds():
            raise ValueError(_OUT_OF_RANGE)
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError(f"expected a duration, got {type(value).__name__}")
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return _parse(seconds)
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
