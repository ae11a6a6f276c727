"""Savings and currency are normalised once, where a Recommendation is built: the API client,
the CSV import and the Table read-back all get the same figures without doing it themselves."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.models import Recommendation
from shared.table_store import entity_to_recommendation, recommendation_to_entity

SUB = "00000000-0000-0000-0000-000000000001"


def rec(**kw) -> Recommendation:
    return Recommendation(recommendation_id="r1", subscription_id=SUB, category="cost", impact="high", **kw)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"monthly_savings": Decimal("100")}, (Decimal("100"), Decimal("1200"))),
        ({"annual_savings": Decimal("5332")}, (Decimal("444.33"), Decimal("5332"))),
        ({"monthly_savings": Decimal("10"), "annual_savings": Decimal("99")}, (Decimal("10"), Decimal("99"))),
        ({}, (None, None)),
    ],
)
def test_the_missing_figure_is_derived(given, expected):
    r = rec(**given)
    assert (r.monthly_savings, r.annual_savings) == expected


@pytest.mark.parametrize(("given", "expected"), [(" eur ", "EUR"), ("usd", "USD"), ("", None), (None, None)])
def test_the_currency_code_is_trimmed_and_upper_cased_and_never_guessed(given, expected):
    assert rec(monthly_savings=Decimal(1), savings_currency=given).savings_currency == expected


def test_an_absurd_amount_is_kept_as_given_instead_of_failing():
    r = rec(annual_savings=Decimal("1e30"))  # made a CSV upload answer 500 when derived in place
    assert r.monthly_savings == Decimal("83333333333333333333333333333.33")
    assert rec(annual_savings=Decimal("1e50")).monthly_savings is None
    huge = rec(monthly_savings=Decimal("9e999999"))
    assert huge.monthly_savings == Decimal("9e999999") and huge.annual_savings is None


def test_a_recommendation_read_back_from_its_entity_is_the_same():
    original = rec(annual_savings=Decimal("1200"), savings_currency="eur")
    back = entity_to_recommendation(recommendation_to_entity("report", original))
    assert (back.monthly_savings, back.annual_savings, back.savings_currency) == (
        Decimal("100.00"), Decimal("1200"), "EUR",
    )  # fmt: skip
