"""Validation of report requests: every rejection names the field."""

from __future__ import annotations

import pytest

from shared.errors import InvalidInputError
from shared.models import ReportType
from shared.report_request import MAX_SUBSCRIPTIONS, parse_formats, parse_report_request

SUB = "11111111-2222-3333-4444-555555555555"


def test_minimal_request_defaults_formats_and_filters():
    req = parse_report_request({"subscriptionIds": [SUB.upper()], "reportType": "Cost"})
    assert req.report_type is ReportType.COST
    assert req.formats == ("html", "pdf")
    assert req.subscription_ids == (SUB,)
    assert req.filters.categories == ()


def test_duplicates_are_collapsed_case_insensitively():
    req = parse_report_request({"subscriptionIds": [SUB, SUB.upper()], "reportType": "detailed"})
    assert req.subscription_ids == (SUB,)


def test_both_category_vocabularies_are_accepted():
    req = parse_report_request({
        "subscriptionIds": [SUB], "reportType": "detailed",
        "filters": {"categories": ["HighAvailability", "operational_excellence", "Cost"],
                    "impacts": ["High"], "resourceGroups": ["rg-web_01(prod)"]},
    })  # fmt: skip
    assert req.filters.categories == ("reliability", "operational_excellence", "cost")
    assert req.filters.impacts == ("high",)
    assert req.filters.resource_groups == ("rg-web_01(prod)",)


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ([], "body", "JSON object"),
        ({"reportType": "cost"}, "subscriptionIds", "required"),
        ({"subscriptionIds": [], "reportType": "cost"}, "subscriptionIds", "at least one"),
        ({"subscriptionIds": ["not-a-guid"], "reportType": "cost"}, "subscriptionIds", "not-a-guid"),
        ({"subscriptionIds": "abc", "reportType": "cost"}, "subscriptionIds", "list"),
        ({"subscriptionIds": [SUB]}, "reportType", "required"),
        ({"subscriptionIds": [SUB], "reportType": "weekly"}, "reportType", "weekly"),
        ({"subscriptionIds": [SUB], "reportType": "cost", "formats": ["docx"]}, "formats", "docx"),
        ({"subscriptionIds": [SUB], "reportType": "cost", "formats": []}, "formats", "at least one"),
        (
            {"subscriptionIds": [SUB], "reportType": "cost", "filters": {"categories": ["Money"]}},
            "filters.categories",
            "Money",
        ),
        (
            {"subscriptionIds": [SUB], "reportType": "cost", "filters": {"impacts": ["urgent"]}},
            "filters.impacts",
            "urgent",
        ),
        (
            {"subscriptionIds": [SUB], "reportType": "cost", "filters": {"resourceGroups": ["bad/rg"]}},
            "filters.resourceGroups",
            "bad/rg",
        ),
        (
            {"subscriptionIds": [SUB], "reportType": "cost", "filters": {"resourceGroups": ["ends."]}},
            "filters.resourceGroups",
            "ends.",
        ),
        ({"subscriptionIds": [SUB], "reportType": "cost", "filters": {"tags": []}}, "filters", "tags"),
        ({"subscriptionIds": [SUB], "reportType": "cost", "extra": 1}, "extra", "extra"),
    ],
)
def test_rejections_name_the_field(body, field, text):
    with pytest.raises(InvalidInputError) as err:
        parse_report_request(body)
    assert err.value.field == field
    assert text in str(err.value)


def test_too_many_subscriptions():
    ids = [f"00000000-0000-0000-0000-{i:012d}" for i in range(MAX_SUBSCRIPTIONS + 1)]
    with pytest.raises(InvalidInputError, match="at most 500"):
        parse_report_request({"subscriptionIds": ids, "reportType": "cost"})
    assert (
        len(parse_report_request({"subscriptionIds": ids[:-1], "reportType": "cost"}).subscription_ids) == 500
    )


def test_formats_from_query_string():
    assert parse_formats("pdf") == ("pdf",)
    assert parse_formats("html,pdf,html") == ("html", "pdf")
    assert parse_formats("XLSX,csv") == ("xlsx", "csv")  # the action-plan export, when asked for


def test_the_export_formats_are_accepted_and_named_in_the_error():
    req = parse_report_request(
        {"subscriptionIds": [SUB], "reportType": "cost", "formats": ["csv", "xlsx", "pdf"]}
    )
    assert req.formats == ("csv", "xlsx", "pdf")
    with pytest.raises(InvalidInputError) as err:
        parse_formats(["xls"])
    assert err.value.field == "formats" and "html, pdf, xlsx, csv" in str(err.value)


CUSTOMER = "0f8fad5b-d9cb-469f-a165-70867728950e"


def test_a_customer_id_instead_of_subscriptions():
    req = parse_report_request({"customerId": CUSTOMER.upper(), "reportType": "executive"})
    assert req.customer_id == CUSTOMER
    assert req.subscription_ids == ()  # the customer's subscriptions are looked up when starting
    assert req.customer == ""


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({"customerId": CUSTOMER, "subscriptionIds": [SUB], "reportType": "cost"}, "customerId", "not both"),
        ({"customerId": CUSTOMER, "subscriptionIds": [], "reportType": "cost"}, "customerId", "not both"),
        ({"customerId": "not-a-guid", "reportType": "cost"}, "customerId", "GUID"),
        ({"customerId": ["x"], "reportType": "cost"}, "customerId", "GUID"),
        ({"customerId": CUSTOMER, "customer": "Contoso", "reportType": "cost"}, "customer", "registered"),
        ({"customerId": CUSTOMER}, "reportType", "required"),
        ({"reportType": "cost"}, "subscriptionIds", "customerId"),
    ],
)
def test_customer_rejections_name_the_field(body, field, text):
    with pytest.raises(InvalidInputError) as err:
        parse_report_request(body)
    assert err.value.field == field
    assert text in str(err.value)
