"""Statistics per subscription and per customer on devhost: the figures match the tenant, a
cache hit calls no Advisor API, the cache expires after an hour (the cache's clock is moved,
nothing sleeps), ``?refresh=true`` fetches again, concurrent requests for a cold cache make one
fetch, and a customer's sum names the subscription it could not read."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared import clients
from shared.statistics import system_clock

from .support import ApiClient, TenantFigures, rec_category, rec_impact

pytestmark = pytest.mark.e2e


def list_calls(stack: Any, sub: str) -> int:
    return sum(1 for e in stack.standin.requests(target="arm", subscription=sub) if e["operation"] == "list")


def setup_customer(api: ApiClient, subs: list[str]) -> str:
    cid = api.post("/api/customers", json={"name": f"Stats {uuid.uuid4().hex[:6]}"}).json()["customerId"]
    for sub in subs:
        response = api.post("/api/subscriptions", json={"subscriptionId": sub, "customerId": cid})
        assert response.status_code == 201, response.text
    return cid


def test_subscription_statistics_are_cached_for_an_hour(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    (entry,) = new_subscriptions(1, 40)
    sub = entry["subscriptionId"]
    # Without reservation variants every recommendation counts once, so the figures are exact.
    figures = TenantFigures.of(stack, [sub]).plain
    stack.standin.set_recommendations(sub, figures.recs, entry["displayName"])
    cid = setup_customer(api, [sub])
    url = f"/api/subscriptions/{sub}/statistics"

    first = api.get(url)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["cached"] is False
    assert body["total"] == figures.total
    assert {k: v for k, v in body["countsByCategory"].items() if v} == figures.by(rec_category)
    assert {k: v for k, v in body["countsByImpact"].items() if v} == figures.by(rec_impact)
    assert sum(body["countsByImpact"].values()) == body["total"]
    assert sum(t["count"] for t in body["topRecommendationTypes"]) <= body["total"]
    assert body["lastUpdated"]
    for saving in body["savings"]:
        assert Decimal(saving["annual"]) >= Decimal(saving["monthly"]) >= 0
    calls = list_calls(stack, sub)
    assert calls >= 1

    second = api.get(url).json()
    assert second["cached"] is True and list_calls(stack, sub) == calls  # a hit calls nothing
    assert {k: second[k] for k in ("total", "countsByCategory", "savings")} == {
        k: body[k] for k in ("total", "countsByCategory", "savings")
    }

    cache = clients.statistics_cache()  # the host runs the app in this process
    try:
        cache.clock = lambda: datetime.now(UTC) + timedelta(minutes=61)  # an hour and a minute on
        expired = api.get(url).json()
        assert expired["cached"] is False and list_calls(stack, sub) == 2 * calls
        assert api.get(url).json()["cached"] is True  # fresh again at the new time
        refreshed = api.get(url, params={"refresh": "true"}).json()
        assert refreshed["cached"] is False and list_calls(stack, sub) == 3 * calls
    finally:
        cache.clock = system_clock
    # Deleting the subscription forgets its cached statistics: nothing is left orphaned.
    api.call("DELETE", f"/api/customers/{cid}", params={"cascade": "true"})
    assert cache._read(sub.lower(), datetime.min.replace(tzinfo=UTC)) is None


def test_concurrent_requests_for_a_cold_cache_fetch_once(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    (entry,) = new_subscriptions(1, 20)
    sub = entry["subscriptionId"]
    cid = setup_customer(api, [sub])
    stack.standin.inject_fault(subscription=sub, operation="list", delay=1.0)  # a slow fetch
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(
            pool.map(lambda _: api.get(f"/api/subscriptions/{sub}/statistics", timeout=40), range(6))
        )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert sorted(a.json()["cached"] for a in answers) == [False] + [True] * 5
    assert list_calls(stack, sub) == 1
    api.call("DELETE", f"/api/customers/{cid}", params={"cascade": "true"})


def test_customer_statistics_add_up_and_name_what_failed(
    api: ApiClient, stack: Any, new_subscriptions: Any
) -> None:
    a, b, broken = (s["subscriptionId"] for s in new_subscriptions(3, 15))
    cid = setup_customer(api, [a, b, broken])
    stack.standin.inject_fault(subscription=broken, status=403)
    body = api.get(f"/api/customers/{cid}/statistics").json()
    one = api.get(f"/api/subscriptions/{a}/statistics").json()
    two = api.get(f"/api/subscriptions/{b}/statistics").json()
    assert body["total"] == one["total"] + two["total"]
    for category in set(one["countsByCategory"]) | set(two["countsByCategory"]):
        assert body["countsByCategory"][category] == one["countsByCategory"].get(category, 0) + two[
            "countsByCategory"
        ].get(category, 0)
    assert sorted(body["subscriptions"]) == sorted([a.lower(), b.lower()])
    assert [f["subscriptionId"] for f in body["subscriptionsFailed"]] == [broken.lower()]
    assert body["subscriptionsFailed"][0]["code"] == "authorization_failed"
    failed_one = api.get(f"/api/subscriptions/{broken}/statistics")
    assert failed_one.status_code == 502 and failed_one.json()["error"]["code"] == "authorization_failed"
    assert api.get(f"/api/customers/{uuid.uuid4()}/statistics").status_code == 404
    assert api.get(f"/api/subscriptions/{uuid.uuid4()}/statistics").status_code == 404
    stack.standin.clear_faults()
    api.call("DELETE", f"/api/customers/{cid}", params={"cascade": "true"})
