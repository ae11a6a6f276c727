"""Unit tests for shared.summary: counts, savings per currency, reservation folding, top
opportunities, groups and the small dict form."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.models import Recommendation, ReportFilters
from shared.summary import (
    ReportSummary,
    lookback_days,
    summarize,
    term_months,
)

SUB_A = "11111111-1111-1111-1111-111111111111"
SUB_B = "22222222-2222-2222-2222-222222222222"
_seq = 0


def rec(**kw) -> Recommendation:
    global _seq
    _seq += 1
    name = kw.pop("resource_name", f"vm-{_seq:04d}")
    sub = kw.pop("subscription_id", SUB_A)
    rg = kw.pop("resource_group", "rg-app")
    base = dict(
        recommendation_id=f"/subscriptions/{sub}/resourceGroups/{rg}/providers/x/{name}/providers/"
        f"Microsoft.Advisor/recommendations/{_seq:08d}",
        subscription_id=sub,
        category="reliability",
        impact="medium",
        recommendation_type_id="type-backup",
        problem="Enable backups",
        solution="Configure Azure Backup",
        resource_id=f"/subscriptions/{sub}/resourceGroups/{rg}/providers/x/{name}",
        resource_name=name,
        resource_group=rg,
        last_updated=datetime(2025, 3, 1, tzinfo=UTC),
    )
    base.update(kw)
    return Recommendation(**base)


def cost(monthly: str | None, currency: str | None, **kw) -> Recommendation:
    kw.setdefault("category", "cost")
    kw.setdefault("recommendation_type_id", "type-rightsize")
    kw.setdefault("problem", "Right-size underutilized VMs")
    return rec(
        monthly_savings=None if monthly is None else Decimal(monthly),
        annual_savings=None if monthly is None else Decimal(monthly) * 12,
        savings_currency=currency,
        **kw,
    )


def reservation(lookback: str, term: str, monthly: str, sku: str = "Standard_D2s_v3", **kw) -> Recommendation:
    sub = kw.pop("subscription_id", SUB_A)
    return rec(
        category="cost",
        recommendation_type_id="type-ri",
        problem="Buy reserved instances",
        subscription_id=sub,
        resource_id=f"/subscriptions/{sub}",
        resource_group="",
        resource_name=kw.pop("resource_name", sub),
        monthly_savings=Decimal(monthly),
        annual_savings=Decimal(monthly) * 12,
        savings_currency="USD",
        extended_properties={
            "reservedResourceType": "VirtualMachines",
            "displaySKU": sku,
            "region": "westeurope",
            "term": term,
            "lookbackPeriod": lookback,
            "qty": "2",
        },
        **kw,
    )


def six_variants(sku: str = "Standard_D2s_v3", base: int = 100) -> list[Recommendation]:
    """A reservation as Advisor lists it: once per lookback (7/30/60) and term (P1Y/P3Y)."""
    out = []
    for i, lookback in enumerate(("7", "30", "60")):
        for j, term in enumerate(("P1Y", "P3Y")):
            out.append(reservation(lookback, term, str(base + 10 * i + j), sku=sku))
    return out


# --- counts ---------------------------------------------------------------------------------


def test_counts_by_category_and_impact_in_canonical_order_with_unknown_values_kept():
    recs = [
        rec(category="cost", impact="low"),
        rec(category="security", impact="high"),
        rec(category="sustainability", impact="critical"),
        rec(category="reliability", impact="high"),
        rec(category="security", impact="medium"),
    ]
    s = summarize(recs)
    assert s.total == s.received == 5
    assert list(s.counts_by_category.items()) == [
        ("reliability", 1),
        ("security", 2),
        ("cost", 1),
        ("sustainability", 1),
    ]
    assert list(s.counts_by_impact.items()) == [("high", 2), ("medium", 1), ("low", 1), ("critical", 1)]
    assert s.high_impact == 2


def test_counts_by_subscription_and_distinct_resources():
    recs = [rec(subscription_id=SUB_A), rec(subscription_id=SUB_B), rec(subscription_id=SUB_B)]
    # a second recommendation for the same resource does not add a resource
    recs.append(rec(subscription_id=SUB_B, resource_name=recs[2].resource_name, recommendation_type_id="t2"))
    s = summarize(recs)
    assert s.counts_by_subscription == {SUB_B: 3, SUB_A: 1}
    assert s.resource_count == 3


def test_subscription_names_are_collected_from_the_recommendations():
    s = summarize([rec(subscription_id=SUB_A, subscription_name="Production"), rec(subscription_id=SUB_B)])
    assert s.subscription_names == {SUB_A: "Production"}


def test_subscription_level_rows_show_the_subscription_name_not_its_id():
    named = rec(resource_name=SUB_A, resource_group="", subscription_name="Production")
    unnamed = rec(subscription_id=SUB_B, resource_name=SUB_B, resource_group="")
    rows = {r.subscription_id: r for g in summarize([named, unnamed]).groups for r in g.rows}
    assert rows[SUB_A].resource_name == "Production"
    assert rows[SUB_B].resource_name == SUB_B  # no name known: the id, never blank


def test_filters_drop_recommendations_before_counting():
    recs = [rec(category="cost"), rec(category="security", impact="high"), rec(category="security")]
    s = summarize(recs, filters=ReportFilters(categories=("security",), impacts=("high",)))
    assert s.total == 1
    assert s.counts_by_category == {"security": 1}
    assert s.filters.categories == ("security",)


# --- savings ---------------------------------------------------------------------------------


def test_savings_are_totalled_per_currency_and_never_across_currencies():
    s = summarize([cost("10.50", "USD"), cost("20", "EUR"), cost("5.25", "usd"), cost("1", " EUR ")])
    by = {t.currency: t for t in s.savings}
    assert set(by) == {"USD", "EUR"}
    assert by["USD"].monthly == Decimal("15.75") and by["USD"].annual == Decimal("189.00")
    assert by["EUR"].monthly == Decimal("21") and by["EUR"].count == 2
    # no figure anywhere equals a cross-currency sum
    assert all(t.monthly != Decimal("36.75") for t in s.savings)


def test_unknown_currency_is_counted_separately_and_not_assumed_usd():
    s = summarize([cost("100", None), cost("7", "USD"), cost("3", "")])
    assert s.unknown_currency_count == 2
    assert [(t.currency, t.monthly) for t in s.savings] == [("USD", Decimal("7"))]
    assert "unknown currency" in s.savings_note
    # the amounts stay on the rows, without a currency
    rows = [r for g in s.groups for r in g.rows if r.currency is None]
    amounts = [r.monthly_savings for r in rows]
    assert None not in amounts
    assert sorted(a for a in amounts if a is not None) == [Decimal("3"), Decimal("100")]


def test_annual_only_savings_derive_the_monthly_figure():
    r = rec(category="cost", annual_savings=Decimal("1200"), savings_currency="GBP")
    s = summarize([r])
    assert s.savings[0].monthly == Decimal("100.00")
    assert s.savings[0].annual == Decimal("1200")


def test_zero_and_missing_savings_are_not_opportunities():
    s = summarize([cost("0", "USD"), cost(None, None), rec()])
    assert s.savings == [] and s.unknown_currency_count == 0 and s.top_opportunities == []


def test_savings_note_says_totals_are_an_upper_bound():
    note = summarize([cost("1", "USD")]).savings_note
    assert "never added across currencies" in note
    assert "overlap" in note and "upper bound" in note


# --- reservations --------------------------------------------------------------------------


def test_reservation_variants_count_once_using_30_day_lookback_and_3_year_term():
    variants = six_variants(base=100)  # amounts: 7d: 100/101, 30d: 110/111, 60d: 120/121
    s = summarize(variants)
    assert s.received == 6
    assert s.total == 1
    assert s.folded_variants == 5
    assert s.savings[0].monthly == Decimal("111")  # 30-day lookback, P3Y
    assert s.savings[0].count == 1
    row = s.groups[0].rows[0]
    assert row.variants == 6 and row.term == "P3Y" and row.lookback_days == 30
    assert "5 repeated variants are not counted" in s.savings_note
    assert "30-day lookback" in s.savings_note


def test_reservation_folding_does_not_depend_on_input_order():
    variants = six_variants() + six_variants(sku="Standard_E4s_v5", base=300)
    results = set()
    for seed in range(5):
        shuffled = variants[:]
        random.Random(seed).shuffle(shuffled)
        s = summarize(shuffled)
        results.add((s.total, tuple((t.currency, t.monthly) for t in s.savings)))
    assert results == {(2, (("USD", Decimal("111") + Decimal("311")),))}


def test_reservation_without_a_30_day_lookback_uses_the_longest_lookback_and_term():
    s = summarize(
        [reservation("7", "P3Y", "50"), reservation("60", "P1Y", "40"), reservation("60", "P3Y", "45")]
    )
    assert s.total == 1
    assert s.savings[0].monthly == Decimal("45")


def test_different_reservations_are_different_opportunities():
    s = summarize(six_variants("Standard_D2s_v3") + six_variants("Standard_E4s_v5"))
    assert s.total == 2 and s.folded_variants == 10
    assert s.groups[0].count == 2


def test_term_and_lookback_parsing():
    assert term_months("P3Y") == 36 and term_months("p1y") == 12 and term_months("P6M") == 6
    assert term_months("") is None and term_months("three years") is None
    assert lookback_days("30") == 30 and lookback_days("Last60Days") == 60 and lookback_days(None) is None


# --- top opportunities ---------------------------------------------------------------------


def test_top_opportunities_sorted_by_monthly_savings_within_currency_and_deduplicated():
    recs = [cost(str(m), "USD") for m in (5, 50, 20, 70)] + [cost(str(m), "EUR") for m in (9, 3)]
    recs += six_variants(base=30)  # one USD opportunity of 41
    s = summarize(recs, top_n=3)
    usd = [o for o in s.top_opportunities if o.currency == "USD"]
    eur = [o for o in s.top_opportunities if o.currency == "EUR"]
    assert [o.monthly for o in usd] == [Decimal("70"), Decimal("50"), Decimal("41")]
    assert [o.monthly for o in eur] == [Decimal("9"), Decimal("3")]
    # USD has more opportunities, so it comes first; currencies are never interleaved
    assert [o.currency for o in s.top_opportunities] == ["USD"] * 3 + ["EUR"] * 2
    assert sum(1 for o in s.top_opportunities if o.problem == "Buy reserved instances") == 1


def test_top_opportunities_leave_out_unknown_currency():
    s = summarize([cost("1000", None), cost("1", "USD")])
    assert [o.monthly for o in s.top_opportunities] == [Decimal("1")]


# --- groups ---------------------------------------------------------------------------------


def test_groups_by_recommendation_type_with_highest_impact_link_count_and_savings():
    recs = [
        cost("10", "USD", impact="low", learn_more_link=""),
        cost("20", "USD", impact="high", learn_more_link="https://aka.ms/rightsize"),
        cost("5", "EUR", impact="medium"),
        rec(category="security", recommendation_type_id="type-mfa", problem="Enable MFA", impact="high"),
    ]
    s = summarize(recs)
    assert s.group_count == 2 and s.row_count == 4
    by = {g.recommendation_type_id: g for g in s.groups}
    g = by["type-rightsize"]
    assert g.problem == "Right-size underutilized VMs" and g.category == "cost"
    assert g.impact == "high"
    assert g.learn_more_link == "https://aka.ms/rightsize"
    assert g.count == 3
    assert {c: (t.monthly, t.count) for c, t in g.savings.items()} == {
        "USD": (Decimal("30"), 2),
        "EUR": (Decimal("5"), 1),
    }
    # rows: by currency, then the largest saving first
    assert [(r.currency, r.monthly_savings) for r in g.rows] == [
        ("EUR", Decimal("5")),
        ("USD", Decimal("20")),
        ("USD", Decimal("10")),
    ]
    assert by["type-mfa"].rows[0].resource_name == recs[3].resource_name
    # canonical category order: security before cost
    assert [x.category for x in s.groups] == ["security", "cost"]


def test_rows_are_light_and_share_the_recommendations_strings():
    r = rec(resource_name="vm-" + "x" * 50)
    row = summarize([r]).groups[0].rows[0]
    assert not hasattr(row, "__dict__")  # slots: no per-row dict
    assert row.resource_name is r.resource_name


def test_csv_rows_without_a_type_id_group_by_category_and_problem():
    recs = [
        rec(recommendation_type_id="", problem="Use zone redundancy"),
        rec(recommendation_type_id="", problem="Use zone redundancy"),
        rec(recommendation_type_id="", problem="Enable backups"),
    ]
    assert sorted(g.count for g in summarize(recs).groups) == [1, 2]


def test_subscription_level_rows():
    s = summarize([rec(resource_group="", resource_name=SUB_A)])
    assert s.groups[0].rows[0].is_subscription_level


# --- dict form ------------------------------------------------------------------------------


def test_to_dict_is_json_safe_small_and_round_trips_without_rows():
    recs = [cost(str(i % 97 + 1), "USD" if i % 3 else "EUR", resource_name=f"vm-{i}") for i in range(3000)]
    recs += [rec(category=c, recommendation_type_id=f"t-{i % 25}") for i, c in enumerate(["security"] * 2000)]
    s = summarize(recs)
    data = s.to_dict()
    text = json.dumps(data)
    assert len(text) < 8_000  # a few KB whatever the number of recommendations
    assert "rows" not in text and "groups" not in data
    assert all(isinstance(t["monthly"], str) for t in data["savings"])
    assert len(data["topOpportunities"]) == 20  # top 10 per currency
    back = ReportSummary.from_dict(json.loads(text))
    assert back.total == s.total and back.counts_by_category == s.counts_by_category
    assert [(t.currency, t.monthly, t.annual, t.count) for t in back.savings] == [
        (t.currency, t.monthly, t.annual, t.count) for t in s.savings
    ]
    assert back.top_opportunities[0].monthly == s.top_opportunities[0].monthly
    assert back.savings_note == s.savings_note
    assert back.has_rows is False and back.groups == []


def test_summary_of_nothing():
    s = summarize([])
    assert s.total == 0 and s.groups == [] and s.savings == []
    assert json.loads(json.dumps(s.to_dict()))["total"] == 0


@pytest.mark.parametrize("n", [15_000])
def test_fifteen_thousand_recommendations_summarize(n):
    # How long this takes is measured by `make bench` (bench/parse_bench.py), not asserted here.
    recs = [
        cost("1.5", "USD", resource_name=f"vm-{i}", recommendation_type_id=f"t{i % 25}") for i in range(n)
    ]
    s = summarize(recs)
    assert s.row_count == n and s.group_count == 25
    assert s.savings[0].monthly == Decimal("1.5") * n
