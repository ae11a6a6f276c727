"""Advisor client pieces that need no network: $filter building and quoting, error
classification, mapping SDK models to our Recommendation. The same paths run against the
HTTPS stand-in in tests/integration/test_advisor_client.py."""

from __future__ import annotations

from decimal import Decimal

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.mgmt.advisor.models import ResourceRecommendationBase

from shared.advisor import MAX_FILTER_TERMS, build_filter, classify_error, quote_odata, to_recommendation
from shared.errors import PermanentError, TransientError
from shared.models import ReportFilters

SUB = "11111111-2222-3333-4444-555555555555"


class FakeResponse:
    def __init__(self, status: int, body: str = "") -> None:
        self.status_code = status
        self.reason = "reason"
        self.headers = {"Authorization": "Bearer eyJabc.def.ghi"}
        self._body = body

    def text(self) -> str:
        return self._body

    def json(self):
        import json

        return json.loads(self._body)


def http_error(status: int, code: str = "", cls=HttpResponseError):
    body = f'{{"error": {{"code": "{code}", "message": "details"}}}}' if code else ""
    return cls(message=f"Operation returned {status}", response=FakeResponse(status, body))


def test_quote_doubles_single_quotes():
    assert quote_odata("rg-1") == "'rg-1'"
    assert quote_odata("o'brien") == "'o''brien'"
    assert quote_odata("'; drop") == "'''; drop'"


def test_filter_categories_use_api_names():
    flt, complete = build_filter(ReportFilters(categories=("reliability", "cost")))
    assert flt == "Category eq 'HighAvailability' or Category eq 'Cost'"
    assert complete


def test_filter_categories_and_groups_in_dnf():
    flt, complete = build_filter(ReportFilters(categories=("security",), resource_groups=("rg1", "r'g")))
    assert (
        flt == "Category eq 'Security' and ResourceGroup eq 'rg1' or "
        "Category eq 'Security' and ResourceGroup eq 'r''g'"
    )
    assert complete


def test_filter_too_many_combinations_keeps_categories_only():
    groups = tuple(f"rg{i}" for i in range(MAX_FILTER_TERMS))
    flt, complete = build_filter(ReportFilters(categories=("cost", "security"), resource_groups=groups))
    assert flt == "Category eq 'Cost' or Category eq 'Security'"
    assert not complete


def test_no_filters_no_filter_and_impacts_stay_client_side():
    assert build_filter(ReportFilters()) == (None, True)
    assert build_filter(ReportFilters(impacts=("high",))) == (None, True)


@pytest.mark.parametrize(
    ("exc", "kind", "code"),
    [
        (http_error(429, "TooManyRequests"), TransientError, "throttled"),
        (http_error(500, "InternalServerError"), TransientError, "unavailable"),
        (http_error(503), TransientError, "unavailable"),
        (ServiceRequestError("connection refused"), TransientError, "unreachable"),
        (ServiceResponseError("reset"), TransientError, "unreachable"),
        (TimeoutError(), TransientError, "unreachable"),
        (
            http_error(401, "InvalidAuthenticationToken", ClientAuthenticationError),
            PermanentError,
            "token_rejected",
        ),
        (
            ClientAuthenticationError("AADSTS7000215: Invalid client secret provided. client_secret=abc"),
            PermanentError,
            "authentication_failed",
        ),
        (http_error(403, "AuthorizationFailed"), PermanentError, "authorization_failed"),
        (
            http_error(404, "SubscriptionNotFound", ResourceNotFoundError),
            PermanentError,
            "subscription_not_found",
        ),
        (http_error(400, "BadRequest"), PermanentError, "bad_request"),
    ],
)
def test_classification(exc, kind, code):
    result = classify_error(exc, SUB)
    assert isinstance(result, kind)
    assert result.code == code
    assert SUB in str(result)


def test_classified_messages_never_carry_secrets_or_tokens():
    exc = ClientAuthenticationError("AADSTS7000215 client_secret=hunter2 Bearer eyJhbGciOi.eyJzdWIi.sig")
    message = str(classify_error(exc, SUB))
    assert "hunter2" not in message and "eyJ" not in message


def test_unknown_exceptions_are_not_classified():
    assert classify_error(KeyError("x"), SUB) is None


def _sdk_item(**props):
    body = {
        "id": f"/subscriptions/{SUB}/resourceGroups/RG-Web/providers/Microsoft.Web/sites/shop"
        "/providers/Microsoft.Advisor/recommendations/0a1b",
        "name": "0a1b",
        "type": "Microsoft.Advisor/recommendations",
        "properties": {
            "category": "HighAvailability",
            "impact": "High",
            "impactedField": "Microsoft.Web/sites",
            "impactedValue": "shop",
            "lastUpdated": "2026-11-01T10:11:12.1234567Z",
            "recommendationTypeId": "ABCDEF00-0000-0000-0000-000000000001",
            "shortDescription": {"problem": "Enable zone redundancy", "solution": "Enable zone redundancy"},
            "extendedProperties": {},
            **props,
        },
    }
    return ResourceRecommendationBase.deserialize(body)


def test_mapping_reliability_and_resource_group():
    rec = to_recommendation(_sdk_item(), SUB)
    assert rec.category == "reliability" and rec.impact == "high"
    assert rec.resource_group == "RG-Web" and rec.resource_name == "shop"
    assert rec.resource_id.endswith("/sites/shop")
    assert rec.recommendation_type_id == "abcdef00-0000-0000-0000-000000000001"
    assert rec.last_updated is not None and rec.last_updated.year == 2026
    assert rec.subscription_id == SUB


def test_mapping_cost_savings_as_strings_and_unknown_currency():
    rec = to_recommendation(
        _sdk_item(
            category="Cost", extendedProperties={"savingsAmount": "1,234.5", "annualSavingsAmount": "14814"}
        ),
        SUB,
    )
    assert rec.monthly_savings == Decimal("1234.5") and rec.annual_savings == Decimal("14814")
    assert rec.savings_currency is None  # never silently USD


def test_mapping_keeps_unknown_categories_and_subscription_level():
    item = _sdk_item(category="Sustainability", impact="Critical")
    item.id = f"/subscriptions/{SUB}/providers/Microsoft.Advisor/recommendations/77"
    rec = to_recommendation(item, SUB)
    assert rec.category == "sustainability" and rec.impact == "critical"
    assert rec.resource_group == "" and rec.is_subscription_level
