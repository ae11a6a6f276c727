"""A scheduler thread for durable timers, retry timers and timer triggers, and NCRONTAB.

``Scheduler`` keeps a heap of (wall-clock deadline, callback) and sleeps on a condition until
the earliest deadline or a new entry: no polling. Callbacks run on the scheduler thread and
must be quick (they enqueue work elsewhere).

``CronSchedule`` parses the schedules Azure Functions timer triggers take: NCRONTAB with six
fields (``{second} {minute} {hour} {day} {month} {day-of-week}``; five fields mean second 0),
with ``*``, lists, ranges, steps and month/day names, day and day-of-week both required to
match (NCrontab's rule); or a ``hh:mm:ss`` TimeSpan for a fixed interval. Times are UTC.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

log = logging.getLogger("devhost.functions_host")


class TimerHandle:
    __slots__ = ("deadline", "callback", "cancelled")

    def __init__(self, deadline: float, callback: Callable[[], None]) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    def __init__(self, name: str = "devhost-scheduler") -> None:
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(5)

    def call_at(self, deadline: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` at ``deadline`` (``time.time()`` seconds)."""
        handle = TimerHandle(deadline, callback)
        with self._cond:
            heapq.heappush(self._heap, (deadline, next(self._counter), handle))
            if self._heap[0][2] is handle:
                self._cond.notify()
        return handle

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return self.call_at(time.time() + delay, callback)

    def pending(self) -> int:
        with self._cond:
            return sum(1 for _, _, handle in self._heap if not handle.cancelled)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    while self._heap and self._heap[0][2].cancelled:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    wait = self._heap[0][0] - time.time()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._stopped:
                    return
                _, _, handle = heapq.heappop(self._heap)
            try:
                handle.callback()
            except Exception:
                log.exception("scheduler callback failed")


_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$")


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    values: set[int] = set()

    def number(token: str) -> int:
        token = token.strip().lower()
        if names and token[:3] in names and not token.isdigit():
            return names[token[:3]]
        value = int(token)
        if names is _DAYS and value == 7:
            value = 0  # both 0 and 7 mean Sunday
        if not low <= value <= high:
            raise ValueError(f"{value} is out of range {low}-{high}")
        return value

    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
            if step <= 0:
                raise ValueError("step must be positive")
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = number(first), number(last)
        else:
            start = number(part)
            end = high if step > 1 else start
        if names is _DAYS and end < start:
            raise ValueError(f"bad range {part}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


class CronSchedule:
    """A timer trigger schedule: NCRONTAB (5 or 6 fields) or a ``[d.]hh:mm:ss`` interval."""

    def __init__(self, expression: str) -> None:
        self.expression = expression.strip()
        self.interval: timedelta | None = None
        span = _TIMESPAN.match(self.expression)
        if span:
            days, hours, minutes, seconds = (int(g or 0) for g in span.groups())
            self.interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
            if self.interval <= timedelta(0):
                raise ValueError(f"timer schedule {expression!r}: the interval must be positive")
            return
        fields = self.expression.split()
        if len(fields) == 5:
            fields = ["0", *fields]
        if len(fields) != 6:
            raise ValueError(
                f"timer schedule {expression!r}: NCRONTAB needs 6 fields "
                "({second} {minute} {hour} {day} {month} {day-of-week})"
            )
        try:
            self.seconds = _field(fields[0], 0, 59)
            self.minutes = _field(fields[1], 0, 59)
            self.hours = _field(fields[2], 0, 23)
            self.days = _field(fields[3], 1, 31)
            self.months = _field(fields[4], 1, 12, _MONTHS)
            self.weekdays = _field(fields[5], 0, 6, _DAYS)
        except ValueError as exc:
            raise ValueError(f"timer schedule {expression!r}: {exc}") from None

    def next_after(self, moment: datetime) -> datetime | None:
        """The first occurrence strictly after ``moment`` (UTC), or None within five years."""
        moment = moment.astimezone(UTC)
        if self.interval is not None:
            return moment + self.interval
        t = moment.replace(microsecond=0) + timedelta(seconds=1)
        limit = moment + timedelta(days=366 * 5)
        while t <= limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(day=1)
                continue
            if t.day not in self.days or (t.weekday() + 1) % 7 not in self.weekdays:
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t = t.replace(second=0) + timedelta(minutes=1)
                continue
            if t.second not in self.seconds:
                t += timedelta(seconds=1)
                continue
            return t
        return None

    def __repr__(self) -> str:
        return f"CronSchedule({self.expression!r})"
