"""A deadline for tests (pytest-timeout is not a dependency): a test or a wait that runs too
long raises instead of hanging the suite. SIGALRM, so main thread only."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from typing import Any


class TestTimeout(Exception):  # noqa: N818 - reads better in a failure report
    """A test, or a wait inside it, ran past its deadline."""

    __test__ = False  # not a test class, despite the name


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Raise :class:`TestTimeout` in the main thread when the block runs longer than ``seconds``.
    Nests: an outer deadline that comes sooner still applies inside, and what is left of it is
    restored on exit."""

    def expire(signum: int, frame: Any) -> None:
        raise TestTimeout(f"did not finish within {seconds:g} s (or an enclosing deadline passed)")

    started = time.monotonic()
    previous_left, _ = signal.getitimer(signal.ITIMER_REAL)
    previous_handler = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, min(seconds, previous_left) if previous_left else seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_left:
            signal.setitimer(signal.ITIMER_REAL, max(previous_left - (time.monotonic() - started), 0.001))
