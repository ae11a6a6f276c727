"""The statistics cache on Azurite with the real Advisor client against the Azure stand-in:
two caches stand for two instances of the app (each with its own in-process locks), so only
the lease row in the table can keep a cold cache to one fetch; the clock is injected."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devhost.azure_standin import AzureStandIn
from devhost.sample_tenant import build_tenant
from shared.statistics import CACHE_SECONDS, StatisticsCache

pytestmark = pytest.mark.standin


@pytest.fixture(scope="module")
def standin() -> Iterator[AzureStandIn]:
    with AzureStandIn(build_tenant(2, 12, seed=808)) as running:
        yield running


def list_calls(standin: AzureStandIn, sub: str) -> int:
    return sum(1 for e in standin.requests(target="arm", subscription=sub) if e["operation"] == "list")


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def make_cache(table_store: Any, standin: AzureStandIn, clock: Clock) -> StatisticsCache:
    return StatisticsCache(table_store, lambda sub: standin.advisor_client(sub, retry_total=0), clock=clock)


def test_two_instances_fetch_a_cold_cache_once(table_store, standin):
    sub = standin.subscription_ids[0]
    clock = Clock()
    first, second = make_cache(table_store, standin, clock), make_cache(table_store, standin, clock)
    standin.inject_fault(subscription=sub, operation="list", delay=1.0, count=1)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda cache: cache.subscription(sub), [first, second, first, second]))
    assert list_calls(standin, sub) == 1
    assert first.fetches + second.fetches == 1
    assert sorted(r.from_cache for r in results) == [False, True, True, True]
    assert len({r.statistics.to_cache() for r in results}) == 1


def test_the_cache_expires_after_an_hour_of_the_injected_clock(table_store, standin):
    sub = standin.subscription_ids[1]
    clock = Clock()
    cache = make_cache(table_store, standin, clock)
    assert cache.subscription(sub).from_cache is False
    clock.now += timedelta(seconds=CACHE_SECONDS - 1)
    assert cache.subscription(sub).from_cache is True
    clock.now += timedelta(seconds=2)
    assert cache.subscription(sub).from_cache is False
    clock.now += timedelta(seconds=1)  # a refresh takes what was fetched since it was asked
    assert cache.subscription(sub, refresh=True).from_cache is False
    assert cache.fetches == 3 and list_calls(standin, sub) == 3
