"""The report pipeline's steps as plain functions: fetch + persist one subscription, import a
CSV, summarize a report, render and upload its files.

Each step takes ids and small values and returns a small typed result, so the same functions
serve the durable activities (whose inputs and outputs go through orchestration history) and
the local demo. Recommendations travel through Table Storage, files through Blob Storage.
Every step is idempotent: deterministic keys, upserts, blob overwrite.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from .advisor import FetchStats, fetch_recommendations
from .errors import PermanentError
from .models import Recommendation, ReportFilters
from .table_store import TableStore

log = logging.getLogger(__name__)

# Recommendations are written while the next pages are fetched, in chunks of this many, so
# memory stays flat however large a subscription is.
PERSIST_CHUNK = 1000

T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class FetchOutcome:
    """What fetching one subscription produced: counts, never the recommendations."""

    subscription_id: str
    ok: bool
    count: int = 0
    pages: int = 0
    seconds: float = 0.0
    failure_code: str | None = None
    failure_message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FetchOutcome:
        return cls(**data)


def fetch_subscription(
    report_id: str,
    subscription_id: str,
    filters: ReportFilters,
    *,
    store: TableStore,
    client_for: Callable[[str], Any],
    page_size: int | None = None,
) -> FetchOutcome:
    """Fetch one subscription's recommendations and persist them under the report.

    Transient faults propagate (TransientError) so the durable retry policy retries the
    whole step, which is safe because writes are upserts. Permanent faults come back as a
    failed outcome with a sanitized reason: retrying them would only repeat the failure.
    """
    started = time.perf_counter()
    stats = FetchStats()
    written = 0
    try:
        client = client_for(subscription_id)
        recs = fetch_recommendations(client, subscription_id, filters, page_size=page_size, stats=stats)
        for chunk in chunked(recs, PERSIST_CHUNK):
            written += store.save_recommendations(report_id, chunk)
    except PermanentError as exc:
        log.warning("Fetching %s failed permanently: %s", subscription_id, exc)
        return FetchOutcome(
            subscription_id, ok=False, pages=stats.pages, seconds=time.perf_counter() - started,
            failure_code=exc.code, failure_message=str(exc),
        )  # fmt: skip
    return FetchOutcome(
        subscription_id, ok=True, count=written, pages=stats.pages, seconds=time.perf_counter() - started
    )


def persist_recommendations(report_id: str, recs: Iterable[Recommendation], store: TableStore) -> int:
    return sum(store.save_recommendations(report_id, chunk) for chunk in chunked(recs, PERSIST_CHUNK))


def import_csv_report(
    report_id: str,
    csv_blob: str,
    filters: ReportFilters,
    *,
    store: TableStore,
    uploads: Any,
    default_category: str | None = None,
) -> FetchOutcome:
    """Parse the uploaded CSV (already validated by the trigger) and persist its rows.

    The outcome has the same shape as a subscription fetch (``subscription_id`` "csv"), so the
    orchestrator treats both sources alike."""
    from .csv_import import iter_csv_recommendations
    from .errors import InvalidInputError

    started = time.perf_counter()
    data = uploads.download(csv_blob)
    try:
        rows = iter_csv_recommendations(data, default_category=default_category)
        count = persist_recommendations(report_id, (r for r in rows if filters.matches(r)), store)
    except InvalidInputError as exc:
        return FetchOutcome("csv", ok=False, failure_code="invalid_csv", failure_message=str(exc))
    return FetchOutcome("csv", ok=True, count=count, seconds=time.perf_counter() - started)
