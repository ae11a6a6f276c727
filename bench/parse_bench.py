"""Input-side benchmark: parsing the portal's CSV export, refusing a hostile CSV, and summarizing
a large report. These were once timed assertions in the unit tests; timings flake on a shared
machine, so the tests keep the behaviour and this prints the figures (medians of 5 runs).

- ``csv 14k rows``: ``parse_csv`` over a 14,000-row portal export (the linear path).
- ``hostile csv``: an 8,000-column file (104 KB) that was once quadratic to refuse; it must be
  refused on its header line in milliseconds.
- ``summarize 15k``: ``summarize`` over 15,000 recommendations in 25 groups.
"""

from __future__ import annotations

import csv
import io
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

from shared.csv_import import parse_csv
from shared.errors import InvalidInputError
from shared.models import Recommendation
from shared.summary import summarize
from tests.portal_csv import HEADER_2025


def _portal_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER_2025, lineterminator="\r\n")
    writer.writeheader()
    categories = ("Cost", "Security", "Reliability", "Performance", "OperationalExcellence")
    for i in range(rows):
        writer.writerow(
            {
                "Category": categories[i % 5],
                "Business Impact": ("High", "Medium", "Low")[i % 3],
                "Recommendation": f"Recommendation number {i % 40}, with a comma",
                "Subscription ID": f"00000000-0000-0000-0000-00000000000{1 + i % 2}",
                "Subscription Name": "Sub",
                "Resource Group": f"rg-{i % 50}",
                "Resource Name": f"res-{i}",
                "Updated Date": "1/2/2025, 10:11:12 AM",
            }
        )
    return out.getvalue().encode("utf-8")


def _hostile_csv() -> bytes:
    header = ",".join(HEADER_2025 + ["x"] * (8000 - len(HEADER_2025)))
    return (header + "\r\n" + (",".join(["1"] * 8000) + "\r\n") * 6).encode("utf-8")


def _refuse(data: bytes) -> None:
    try:
        parse_csv(data)
    except InvalidInputError:
        return
    raise AssertionError("the hostile file was accepted")


def _recommendations(n: int) -> list[Recommendation]:
    from tests.unit.test_summary import cost

    return [
        cost("1.5", "USD", resource_name=f"vm-{i}", recommendation_type_id=f"t{i % 25}") for i in range(n)
    ]


def _median_seconds(work: Callable[[], object], reps: int = 5) -> float:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run() -> list[dict]:
    portal, hostile, recs = _portal_csv(14_000), _hostile_csv(), _recommendations(15_000)
    summary = summarize(recs)
    assert summary.row_count == 15_000 and summary.savings[0].monthly == Decimal("1.5") * 15_000
    return [
        {"case": "csv 14k rows", "seconds": _median_seconds(lambda: parse_csv(portal))},
        {"case": "hostile csv (8,000 columns)", "seconds": _median_seconds(lambda: _refuse(hostile))},
        {"case": "summarize 15k", "seconds": _median_seconds(lambda: summarize(recs))},
    ]


def print_rows(rows: list[dict]) -> None:
    print("\nInput side (median of 5 runs)")
    for row in rows:
        print(f"  {row['case']:<30} {row['seconds'] * 1000:8.1f} ms")


if __name__ == "__main__":
    print_rows(run())
