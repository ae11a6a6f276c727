"""Recommendation statistics per subscription and per customer, cached in Table Storage.

A subscription's statistics (counts by category and impact, savings per currency, the most
frequent recommendation types, when Advisor last updated one) come from one pass of
:func:`shared.summary.summarize` over its recommendations, fetched with the subscription's own
credentials. They are cached for :data:`CACHE_SECONDS` in the ``statistics`` table: a cache hit
calls no Advisor API; ``refresh`` forces a fetch.

A cold cache is fetched once, however many requests ask at the same time: in one process the
requests for a subscription queue on its lock and the later ones find the fresh row; across
processes (several instances) a short lease row, taken with an insert that only one can win,
makes the others wait for the row the winner writes (and fetch themselves only if it never
comes, say because the winner died).

A customer's statistics add up its subscriptions' (each cached on its own); a subscription
that cannot be read is named with its reason and left out of the sums.

Time comes from a ``clock`` argument (default: the system clock), so tests move it instead of
sleeping for an hour.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from .advisor import fetch_recommendations
from .errors import AdvisorReportsError, PermanentError, TransientError
from .models import Recommendation, ReportFilters
from .summary import summarize
from .table_store import TableStore, check_key, classify_storage_error, get_long_string, put_long_string

log = logging.getLogger(__name__)

STATISTICS_TABLE = "statistics"
CACHE_PARTITION = "subscription"
LEASE_PARTITION = "lease"
CACHE_SECONDS = 3600
LEASE_SECONDS = 60
WAIT_FOR_OTHER_SECONDS = 30
WAIT_POLL_SECONDS = 0.2
TOP_TYPES = 10
CUSTOMER_WORKERS = 4

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Statistics:
    counts_by_category: dict[str, int] = field(default_factory=dict)
    counts_by_impact: dict[str, int] = field(default_factory=dict)
    savings: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # currency -> monthly/annual
    types: dict[str, dict[str, Any]] = field(default_factory=dict)  # type id -> problem, category, count
    total: int = 0
    last_updated: datetime | None = None

    @classmethod
    def of(cls, recs: Iterable[Recommendation]) -> Statistics:
        summary = summarize(recs)
        stats = cls(
            counts_by_category=dict(summary.counts_by_category),
            counts_by_impact=dict(summary.counts_by_impact),
            savings={s.currency: {"monthly": s.monthly, "annual": s.annual} for s in summary.savings},
            total=summary.total,
        )
        for group in summary.groups:
            entry = stats.types.setdefault(
                group.recommendation_type_id or group.key,
                {"problem": group.problem, "category": group.category, "impact": group.impact, "count": 0},
            )
            entry["count"] += group.count
        updated = [row.last_updated for g in summary.groups for row in g.rows if row.last_updated]
        stats.last_updated = max(updated) if updated else None
        return stats

    def add(self, other: Statistics) -> None:
        for mine, theirs in (
            (self.counts_by_category, other.counts_by_category),
            (self.counts_by_impact, other.counts_by_impact),
        ):
            for key, value in theirs.items():
                mine[key] = mine.get(key, 0) + value
        for currency, amounts in other.savings.items():
            total = self.savings.setdefault(currency, {"monthly": Decimal(0), "annual": Decimal(0)})
            total["monthly"] += amounts["monthly"]
            total["annual"] += amounts["annual"]
        for type_id, entry in other.types.items():
            mine_entry = self.types.setdefault(type_id, {**entry, "count": 0})
            mine_entry["count"] += entry["count"]
        self.total += other.total
        if other.last_updated and (self.last_updated is None or other.last_updated > self.last_updated):
            self.last_updated = other.last_updated

    def to_dict(self) -> dict[str, Any]:
        top = sorted(self.types.items(), key=lambda kv: (-kv[1]["count"], kv[0]))[:TOP_TYPES]
        return {
            "total": self.total,
            "countsByCategory": dict(sorted(self.counts_by_category.items())),
            "countsByImpact": dict(sorted(self.counts_by_impact.items())),
            "savings": [
                {"currency": c, "monthly": str(a["monthly"]), "annual": str(a["annual"])}
                for c, a in sorted(self.savings.items())
            ],
            "topRecommendationTypes": [{"recommendationTypeId": k, **v} for k, v in top],
            "lastUpdated": self.last_updated.isoformat() if self.last_updated else None,
        }

    def to_cache(self) -> str:
        data = self.to_dict()
        data["types"] = self.types  # all of them, so a customer's sum stays exact
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_cache(cls, text: str) -> Statistics:
        data = json.loads(text)
        return cls(
            counts_by_category={k: int(v) for k, v in data["countsByCategory"].items()},
            counts_by_impact={k: int(v) for k, v in data["countsByImpact"].items()},
            savings={
                s["currency"]: {"monthly": Decimal(s["monthly"]), "annual": Decimal(s["annual"])}
                for s in data["savings"]
            },
            types={k: dict(v) for k, v in data.get("types", {}).items()},
            total=int(data["total"]),
            last_updated=datetime.fromisoformat(data["lastUpdated"]) if data.get("lastUpdated") else None,
        )


@dataclass
class Cached:
    statistics: Statistics
    fetched_at: datetime
    from_cache: bool


class StatisticsCache:
    """The ``statistics`` table and the fetch behind it."""

    def __init__(
        self,
        tables: TableStore,
        client_for: Callable[[str], Any],
        *,
        clock: Clock = system_clock,
        page_size: int | None = None,
    ) -> None:
        self._tables = tables
        self._client_for = client_for
        self.clock = clock
        self._page_size = page_size
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.fetches = 0  # Advisor fetches made by this process (tests and logs)

    def _table(self) -> Any:
        return self._tables.table(STATISTICS_TABLE)

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def _read(self, key: str, fresh_after: datetime) -> Cached | None:
        try:
            row = self._table().get_entity(CACHE_PARTITION, key)
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            raise classify_storage_error(exc, "reading cached statistics") from None
        fetched = row.get("fetchedAt")
        text = get_long_string(row, "statistics")
        if not isinstance(fetched, datetime) or text is None:
            return None
        fetched = fetched if fetched.tzinfo else fetched.replace(tzinfo=UTC)
        if fetched <= fresh_after:
            return None
        try:
            return Cached(Statistics.from_cache(text), fetched, True)
        except (ValueError, KeyError, TypeError):
            return None  # unreadable: fetch again

    def _write(self, key: str, stats: Statistics, fetched_at: datetime) -> None:
        entity: dict[str, Any] = {"PartitionKey": CACHE_PARTITION, "RowKey": key, "fetchedAt": fetched_at}
        put_long_string(entity, "statistics", stats.to_cache())
        try:
            self._table().upsert_entity(entity, mode=UpdateMode.REPLACE)
        except HttpResponseError as exc:
            raise classify_storage_error(exc, "caching statistics") from None

    def _take_lease(self, key: str) -> bool:
        now = self.clock()
        lease = {
            "PartitionKey": LEASE_PARTITION,
            "RowKey": key,
            "until": now + timedelta(seconds=LEASE_SECONDS),
        }
        table = self._table()
        try:
            table.create_entity(lease)
            return True
        except ResourceExistsError:
            pass
        try:
            held = table.get_entity(LEASE_PARTITION, key)
            until = held.get("until")
            if isinstance(until, datetime) and (until if until.tzinfo else until.replace(tzinfo=UTC)) > now:
                return False
            # An abandoned lease (its holder died): take it over, if nobody else just did.
            table.update_entity(
                lease,
                mode=UpdateMode.REPLACE,
                etag=held.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
            return True
        except (ResourceNotFoundError, HttpResponseError):
            return False

    def _drop_lease(self, key: str) -> None:
        try:
            self._table().delete_entity(LEASE_PARTITION, key)
        except HttpResponseError:
            pass  # it expires on its own

    def forget(self, subscription_id: str) -> None:
        """Drop a subscription's cached statistics (it was deleted)."""
        try:
            self._table().delete_entity(CACHE_PARTITION, check_key(subscription_id.lower(), "subscriptionId"))
        except ResourceNotFoundError:
            pass
        except HttpResponseError as exc:
            raise classify_storage_error(exc, "forgetting cached statistics") from None

    def _fetch(self, subscription_id: str) -> Statistics:
        self.fetches += 1
        client = self._client_for(subscription_id)
        recs = fetch_recommendations(client, subscription_id, ReportFilters(), page_size=self._page_size)
        return Statistics.of(recs)

    def subscription(self, subscription_id: str, *, refresh: bool = False) -> Cached:
        key = check_key(subscription_id.lower(), "subscriptionId")
        asked_at = self.clock()
        fresh_after = asked_at - timedelta(seconds=CACHE_SECONDS)
        if not refresh and (hit := self._read(key, fresh_after)):
            return hit
        with self._lock(key):
            # Whoever held the lock before us may have fetched what we need.
            newer_than = asked_at - timedelta(microseconds=1) if refresh else fresh_after
            if hit := self._read(key, newer_than):
                return hit
            deadline = time.monotonic() + WAIT_FOR_OTHER_SECONDS
            while not self._take_lease(key):
                if hit := self._read(key, newer_than):
                    return hit
                if time.monotonic() > deadline:
                    break  # the holder is stuck or gone: fetch ourselves
                time.sleep(WAIT_POLL_SECONDS)
            try:
                # Another instance may have fetched and let go between our read and our lease.
                if hit := self._read(key, newer_than):
                    return hit
                stats = self._fetch(subscription_id)
                fetched_at = self.clock()
                self._write(key, stats, fetched_at)
            finally:
                self._drop_lease(key)
            return Cached(stats, fetched_at, False)

    def customer(self, subscription_ids: list[str], *, refresh: bool = False) -> dict[str, Any]:
        """The sum over ``subscription_ids``; those that fail are named, not summed."""
        total = Statistics()
        failed: list[dict[str, str]] = []
        fetched: list[datetime] = []

        def one(sub: str) -> Cached | AdvisorReportsError:
            try:
                return self.subscription(sub, refresh=refresh)
            except (PermanentError, TransientError) as exc:
                return exc

        with ThreadPoolExecutor(max_workers=CUSTOMER_WORKERS) as pool:
            results = list(pool.map(one, subscription_ids))
        counted: Counter[str] = Counter()
        for sub, result in zip(subscription_ids, results, strict=True):
            if isinstance(result, AdvisorReportsError):
                failed.append({"subscriptionId": sub, "code": result.code, "message": str(result)})
                continue
            total.add(result.statistics)
            fetched.append(result.fetched_at)
            counted[sub] += 1
        body = total.to_dict()
        body["subscriptions"] = sorted(counted)
        body["subscriptionsFailed"] = failed
        body["fetchedAt"] = min(fetched).isoformat() if fetched else None
        return body


def subscription_body(subscription_id: str, cached: Cached) -> dict[str, Any]:
    body = cached.statistics.to_dict()
    body["subscriptionId"] = subscription_id.lower()
    body["fetchedAt"] = cached.fetched_at.isoformat()
    body["cached"] = cached.from_cache
    return body
