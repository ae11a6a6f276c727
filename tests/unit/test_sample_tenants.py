"""The sample tenants are plausible (a demo of them must be trustworthy) and the big one has what
it is for: 45 subscriptions in three tenants, non-Latin names everywhere, five categories,
several currencies, a few thousand recommendations, the same every time."""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from devhost.big_tenant import CUSTOMERS, DEMO_CUSTOMER, build_big_tenant
from devhost.sample_tenant import (
    BUNDLED_PATH,
    COSMOS_UNIT_USD_MONTH,
    IDLE_PRICES_USD,
    USD_RATES,
    VM_PRICES,
    build_bundled_sample,
    resolve_tenant,
)
from shared.report_request import parse_filters


def _items(tenant: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(sub, item["properties"]) for sub in tenant["subscriptions"] for item in sub["recommendations"]]


TENANTS = {"bundled": build_bundled_sample(), "big": build_big_tenant()}
# Advisor's figures are rounded to the cent, the annual one to the unit; JPY/KRW to the unit.
TOLERANCE = Decimal("1.01")


def _monthly(props: dict[str, Any]) -> Decimal:
    return Decimal(props["extendedProperties"]["savingsAmount"])


def _currency(sub: dict[str, Any], props: dict[str, Any]) -> str:
    # the few figures without a currency are in the subscription's own (the one others name)
    stated = {
        p["extendedProperties"].get("savingsCurrency")
        for p in (i["properties"] for i in sub["recommendations"])
    }
    stated.discard(None)
    assert len(stated) <= 1, "one billing currency per subscription"
    return props["extendedProperties"].get("savingsCurrency") or next(iter(stated), "USD")


def _rate(sub: dict[str, Any], props: dict[str, Any]) -> Decimal:
    return Decimal(str(USD_RATES[_currency(sub, props)]))


def _usd(sku: str) -> Decimal:
    return Decimal(str(VM_PRICES[sku].usd_month))


@pytest.mark.parametrize("name", sorted(TENANTS))
def test_right_size_goes_down_and_saves_the_difference(name: str) -> None:
    seen: Counter[str] = Counter()
    for sub, props in _items(TENANTS[name]):
        ext = props["extendedProperties"]
        kind = ext.get("recommendationType")
        if kind not in ("Right-size", "Shutdown"):
            continue
        seen[kind] += 1
        current, target = VM_PRICES[ext["currentSku"]], ext["targetSku"]
        if kind == "Shutdown":
            assert target == "Shutdown"
            ceiling = _usd(ext["currentSku"])  # shutdown saves at most what the VM costs
        else:
            smaller = VM_PRICES[target]
            assert smaller.vcpus <= current.vcpus and smaller.memory_gib <= current.memory_gib, (ext, name)
            assert (smaller.vcpus, smaller.memory_gib) != (current.vcpus, current.memory_gib), ext
            assert smaller.usd_month < current.usd_month, ext
            ceiling = _usd(ext["currentSku"]) - _usd(target)
        assert 0 < _monthly(props) <= ceiling * _rate(sub, props) * TOLERANCE, (ext, name)
    assert seen["Right-size"] >= 3 and seen["Shutdown"] >= 3


@pytest.mark.parametrize("name", sorted(TENANTS))
def test_reservations_savings_plans_and_idle_resources_save_a_fraction_of_what_is_paid(name: str) -> None:
    kinds: Counter[str] = Counter()
    for sub, props in _items(TENANTS[name]):
        ext = props["extendedProperties"]
        if "savingsAmount" not in ext or ext.get("recommendationType"):
            continue
        monthly, rate = _monthly(props), _rate(sub, props)
        assert monthly > 0
        if ext.get("reservedResourceType"):
            kinds["reservation"] += 1
            unit = (
                Decimal(str(COSMOS_UNIT_USD_MONTH))
                if ext["reservedResourceType"] == "CosmosDb"
                else _usd(ext["sku"])
            )
            on_demand = int(ext["qty"]) * unit * rate
            # at most the 72 % Microsoft advertises, and a 3-year term saves more than 1-year
            assert monthly <= on_demand * Decimal("0.72"), (ext, name)
        elif ext.get("commitmentAmount"):
            kinds["savings plan"] += 1
            spent = Decimal(ext["commitmentAmount"]) * 730
            assert monthly / (spent + monthly) <= Decimal("0.65"), ext  # discount over pay-as-you-go
        else:
            kinds["idle"] += 1
            size = Decimal(ext.get("diskSizeGB", "128")) / 128
            price = Decimal(str(IDLE_PRICES_USD[ext["currentSku"]])) * size
            assert monthly <= price * rate * TOLERANCE, ext
    assert kinds["reservation"] and kinds["savings plan"] and kinds["idle"], kinds


@pytest.mark.parametrize("name", sorted(TENANTS))
def test_a_resource_is_listed_once_per_recommendation_type(name: str) -> None:
    keys: Counter[tuple[str, ...]] = Counter()
    for _, props in _items(TENANTS[name]):
        ext = props["extendedProperties"]
        keys[
            (
                props["recommendationTypeId"],
                props["resourceMetadata"]["resourceId"].lower(),
                ext.get("sku", ""),
                ext.get("region", ""),
                ext.get("term", ""),
                ext.get("lookbackPeriod", ""),
            )
        ] += 1
    assert max(keys.values()) == 1


def test_the_bundled_file_is_the_generator_s_output() -> None:
    assert json.loads(BUNDLED_PATH.read_text(encoding="utf-8")) == TENANTS["bundled"]


_NON_LATIN = re.compile(r"[^\x00-\x7f]")
_SCRIPTS = {
    "Polish": "ł",
    "Czech": "Č",
    "Greek": "Ε",
    "Cyrillic": "К",
    "Japanese": "の",
    "Chinese": "客户",
    "Korean": "고객",
}


def test_the_big_tenant_has_45_subscriptions_in_3_tenants_with_names_in_7_scripts() -> None:
    big = TENANTS["big"]
    subs = big["subscriptions"]
    assert len(subs) == 45
    assert len({s["tenantId"] for s in subs}) == 3
    assert [c["name"] for c in big["customers"]] == [c.name for c in CUSTOMERS]
    assert sorted(i for c in big["customers"] for i in c["subscriptionIds"]) == sorted(
        s["subscriptionId"] for s in subs
    )
    names = " ".join(s["displayName"] for s in subs)
    for script, sample in _SCRIPTS.items():
        assert sample in names or sample in DEMO_CUSTOMER, script
        assert sample in DEMO_CUSTOMER or script == "Czech", script
    assert len({s["displayName"] for s in subs}) == 45
    groups = {
        p["resourceMetadata"]["resourceId"].split("/")[4]
        for _, p in _items(big)
        if "/resourceGroups/" in p["resourceMetadata"]["resourceId"]
    }
    assert sum(bool(_NON_LATIN.search(g)) for g in groups) >= 20
    parse_filters({"resourceGroups": sorted(groups)[:50]})  # valid names a report may filter by
    resources = {p["impactedValue"] for _, p in _items(big)}
    assert sum(bool(_NON_LATIN.search(r)) for r in resources) >= 20


def test_the_big_tenant_has_thousands_of_recommendations_five_categories_seven_currencies() -> None:
    big = TENANTS["big"]
    items = _items(big)
    assert 2000 <= len(items) <= 5000
    assert set(Counter(p["category"] for _, p in items)) == {
        "HighAvailability",
        "Security",
        "Performance",
        "Cost",
        "OperationalExcellence",
    }
    currencies = {p["extendedProperties"].get("savingsCurrency") for _, p in items} - {None}
    assert currencies == {"PLN", "CZK", "EUR", "USD", "JPY", "CNY", "KRW"}
    for _, props in items:  # yen and won have no minor units in Advisor's figures
        ext = props["extendedProperties"]
        if ext.get("savingsCurrency") in ("JPY", "KRW"):
            assert "." not in ext["savingsAmount"]
    assert build_big_tenant() == big  # deterministic


def test_tenants_by_name() -> None:
    assert resolve_tenant(None) is None and resolve_tenant("sample") is None
    big = resolve_tenant("big")
    assert isinstance(big, dict) and len(big["subscriptions"]) == 45
    assert resolve_tenant("some/file.json") == "some/file.json"
