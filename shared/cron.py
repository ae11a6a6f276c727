"""Schedules as people write them: standard five-field cron in an IANA time zone.

``minute hour day-of-month month day-of-week``, each ``*``, a number, a list (``1,15``), a
range (``1-5``), a step (``*/15``, ``0-30/10``, ``5/15``); months and week days also by
English name (``jan``, ``mon``); 0 and 7 both mean Sunday; ``@hourly``, ``@daily``
(``@midnight``), ``@weekly``, ``@monthly`` and ``@yearly`` (``@annually``) stand for their
usual expansions. When both day fields are restricted a day matching *either* one matches
(the rule of Vixie cron and POSIX); otherwise the restricted one decides. Seconds are not a
field: that is the Functions host's six-field NCRONTAB, used only for the timer that runs the
schedules (``REPORT_SCHEDULE``).

Times are local wall-clock times of the schedule's zone, and daylight saving time is handled
the way people expect of a wall clock:

- a local time that does not exist (skipped when clocks go forward, such as 02:30 in Warsaw
  on the last Sunday of March) fires once, as late as the jump: 02:30 becomes 03:30;
- a local time that happens twice (when clocks go back) fires once, the first time.

Everything here is pure: the caller passes the instants (``now``), never the wall clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_FIELD_NAMES = ("minute", "hour", "day of month", "month", "day of week")
MAX_EXPRESSION_LENGTH = 200
# How far to look for an occurrence: enough for 29 February on a given week day (28 years).
_SEARCH_DAYS = 366 * 29


class CronError(ValueError):
    """An expression that is not a five-field cron schedule; the message says why."""


def _number(token: str, low: int, high: int, names: tuple[str, ...] | None, what: str) -> int:
    token = token.strip().lower()
    if names and token in names:
        return names.index(token) + (1 if names is _MONTHS else 0)
    if not token.isascii() or not token.isdigit():
        raise CronError(f"{what}: {token[:20]!r} is not a number")
    value = int(token)
    if names is _DAYS and value == 7:
        return 0  # both 0 and 7 mean Sunday
    if not low <= value <= high:
        raise CronError(f"{what}: {value} is outside {low}-{high}")
    return value


def _part(part: str, low: int, high: int, names: tuple[str, ...] | None, what: str) -> set[int]:
    step = 1
    if "/" in part:
        part, step_text = part.split("/", 1)
        if not step_text.isascii() or not step_text.isdigit() or int(step_text) == 0:
            raise CronError(f"{what}: the step {step_text[:20]!r} must be a whole number above 0")
        step = int(step_text)
    top = 7 if names is _DAYS else high  # "5-7" runs Friday to Sunday
    if part == "*":
        start, end = low, high
    elif "-" in part:
        first, last = part.split("-", 1)
        start, end = _number(first, low, top, names, what), _number(last, low, top, names, what)
        if names is _DAYS and last.strip() == "7":
            end = 7
        if end < start:
            raise CronError(f"{what}: the range {part[:20]!r} runs backwards")
    else:
        start = _number(part, low, top, names, what)
        end = high if step > 1 else start  # "5/15": from 5 to the end, every 15
    return {v % 7 if names is _DAYS else v for v in range(start, end + 1, step)}


def _field(text: str, low: int, high: int, what: str, names: tuple[str, ...] | None = None) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{what}: an empty item in {text[:20]!r}")
        values |= _part(part, low, high, names, what)
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed five-field expression (see the module docstring)."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = (day.weekday() + 1) % 7 in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return by_day or by_weekday
        return by_day and by_weekday

    def times_of_day(self) -> list[tuple[int, int]]:
        return [(h, m) for h in sorted(self.hours) for m in sorted(self.minutes)]


def parse_cron(expression: str) -> CronSchedule:
    """Parse ``expression`` or raise :class:`CronError` naming the field and the problem."""
    if not isinstance(expression, str) or not expression.strip():
        raise CronError("a cron expression is required, such as '0 6 * * 1' (Mondays at 06:00)")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise CronError(f"a cron expression has at most {MAX_EXPRESSION_LENGTH} characters")
    text = " ".join(expression.split())
    fields = _MACROS.get(text.lower(), text).split(" ")
    if len(fields) != 5:
        raise CronError(
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"not {len(fields)}; seconds are not a field"
        )
    minute, hour, day, month, weekday = fields
    parsed = CronSchedule(
        expression=text,
        minutes=_field(minute, 0, 59, _FIELD_NAMES[0]),
        hours=_field(hour, 0, 23, _FIELD_NAMES[1]),
        days=_field(day, 1, 31, _FIELD_NAMES[2]),
        months=_field(month, 1, 12, _FIELD_NAMES[3], _MONTHS),
        weekdays=_field(weekday, 0, 6, _FIELD_NAMES[4], _DAYS),
        days_restricted=day != "*",
        weekdays_restricted=weekday != "*",
    )
    if not any(parsed.matches_day(d) for d in _days(date(2000, 1, 1), 1, _SEARCH_DAYS)):
        raise CronError(f"{text!r} never matches a day (such as 30 February)")
    return parsed


def parse_time_zone(name: str) -> ZoneInfo:
    """An IANA time zone (``Europe/Warsaw``, ``UTC``) or CronError."""
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise CronError("timeZone must be an IANA time zone name such as 'Europe/Warsaw' or 'UTC'")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        message = f"timeZone {name[:64]!r} is not an IANA time zone name (such as 'Europe/Warsaw')"
        raise CronError(message) from None


def local_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant a wall-clock time of ``zone`` stands for: a time skipped by a jump forward
    is moved as late as the jump (``fold=0`` takes the offset from before the gap), a time
    that happens twice is the first of the two."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _on_day(cron: CronSchedule, zone: ZoneInfo, day: date) -> list[datetime]:
    if not cron.matches_day(day):
        return []
    start = datetime(day.year, day.month, day.day)
    return sorted({local_to_utc(start.replace(hour=h, minute=m), zone) for h, m in cron.times_of_day()})


def _days(start: date, step: int, limit: int) -> Iterator[date]:
    for offset in range(limit):
        try:
            yield start + timedelta(days=step * offset)
        except OverflowError:
            return


def latest_due(cron: CronSchedule, zone: ZoneInfo, *, after: datetime, now: datetime) -> datetime | None:
    """The latest occurrence in ``(after, now]``, or None. Only the latest: a schedule that
    missed several occurrences (the app was down) is caught up once."""
    if now <= after:
        return None
    first_day = after.astimezone(zone).date() - timedelta(days=2)
    found: datetime | None = None
    days_left = None  # once something is found, two more days back (a jump can move a time across midnight)
    for day in _days(now.astimezone(zone).date() + timedelta(days=1), -1, _SEARCH_DAYS):
        if day < first_day or days_left == 0:
            break
        hits = [t for t in _on_day(cron, zone, day) if after < t <= now]
        if hits and (found is None or hits[-1] > found):
            found = hits[-1]
        if found is not None:
            days_left = 2 if days_left is None else days_left - 1
    return found


def next_due(cron: CronSchedule, zone: ZoneInfo, *, after: datetime) -> datetime | None:
    """The first occurrence strictly after ``after``, or None within the search horizon."""
    found: datetime | None = None
    days_left = None
    for day in _days(after.astimezone(zone).date() - timedelta(days=1), 1, _SEARCH_DAYS):
        if days_left == 0:
            break
        hits = [t for t in _on_day(cron, zone, day) if t > after]
        if hits and (found is None or hits[0] < found):
            found = hits[0]
        if found is not None:
            days_left = 2 if days_left is None else days_left - 1
    return found
