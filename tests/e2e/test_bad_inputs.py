"""Bad requests are refused with 400 (413 for an oversized CSV), the ``{"error": {code,
message, field}}`` shape naming what was wrong, and nothing is stored: no report in the list,
no new row in any table, no uploaded blob, no orchestration."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from .support import HEADER_2025, SUB_A, ApiClient, row, to_csv
from .test_csv_upload import ROWS

pytestmark = pytest.mark.e2e

SUB = "6513270e-269e-4d37-b2a7-4de452e6b438"  # a sample subscription: the rest of the body is what's wrong
MAX_CSV_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Case:
    path: str
    status: int
    field: str | tuple[str, ...] | None  # a tuple: any of these
    json_body: Any = None
    raw: bytes | None = None
    params: dict[str, str] | None = None
    message: str | None = None  # a regex the message must match
    code: str = "invalid_input"


def report(**overrides: Any) -> dict[str, Any]:
    return {"subscriptionIds": [SUB], "reportType": "detailed", **overrides}


def many_ids(n: int) -> list[str]:
    return [str(uuid.UUID(int=i + 1)) for i in range(n)]


CSV_OK = to_csv(HEADER_2025, ROWS)
CSV_BAD_SUBSCRIPTION = to_csv(
    HEADER_2025, [ROWS[0], row("Security", "High", "Enable MFA", "not-a-guid", "", "Production"), ROWS[1]]
)
CSV_PARAMS = {"reportType": "detailed", "formats": "html,pdf"}


def csv_naming(n: int) -> bytes:
    """A valid export whose rows name ``n`` distinct subscriptions."""
    return to_csv(
        HEADER_2025, [row("Security", "High", "Enable MFA", sub, "", "Prod") for sub in many_ids(n)]
    )


SAVINGS = "Potential Annual Cost Savings"
# 104 KB, 8,000 columns: once held a worker for over a minute.
WIDE_CSV = (",".join(HEADER_2025 + ["x"] * (8000 - len(HEADER_2025))) + "\r\n").encode() + (
    ",".join(["1"] * 8000).encode() + b"\r\n"
) * 6


CASES: dict[str, Case] = {
    # json.loads recurses once per level: this must be refused, not crash the parser.
    "deeply_nested_json": Case(
        "/api/reports",
        400,
        "body",
        raw=b"[" * 100_000 + b"]" * 100_000,
        code="invalid_json",
        message="nested",
    ),
    "deeply_nested_filters": Case(
        "/api/reports",
        400,
        "body",
        raw=b'{"filters": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001,
        code="invalid_json",
    ),
    "malformed_json": Case("/api/reports", 400, "body", raw=b'{"subscriptionIds": ["', code="invalid_json"),
    "json_array_body": Case("/api/reports", 400, "body", json_body=[report()]),
    "unknown_field": Case("/api/reports", 400, "subscriptions", json_body=report(subscriptions=[SUB])),
    "unknown_report_type": Case(
        "/api/reports", 400, "reportType", json_body=report(reportType="weekly"), message="weekly"
    ),
    "missing_report_type": Case("/api/reports", 400, "reportType", json_body={"subscriptionIds": [SUB]}),
    "unknown_format": Case("/api/reports", 400, "formats", json_body=report(formats=["html", "docx"])),
    "no_format": Case("/api/reports", 400, "formats", json_body=report(formats=[])),
    "missing_subscription_ids": Case(
        "/api/reports", 400, "subscriptionIds", json_body={"reportType": "cost"}
    ),
    "empty_subscription_ids": Case(
        "/api/reports", 400, "subscriptionIds", json_body=report(subscriptionIds=[])
    ),
    "501_subscription_ids": Case(
        "/api/reports", 400, "subscriptionIds", json_body=report(subscriptionIds=many_ids(501)), message="500"
    ),
    "invalid_guid": Case(
        "/api/reports",
        400,
        "subscriptionIds",
        json_body=report(subscriptionIds=[SUB, "sub-123"]),
        message="sub-123",
    ),
    "subscription_ids_not_strings": Case(
        "/api/reports", 400, "subscriptionIds", json_body=report(subscriptionIds=[SUB, 42])
    ),
    "customer_too_long": Case("/api/reports", 400, "customer", json_body=report(customer="c" * 121)),
    "unknown_filter_category": Case(
        "/api/reports",
        400,
        "filters.categories",
        json_body=report(filters={"categories": ["Savings"]}),
        message="Savings",
    ),
    "unknown_filter_impact": Case(
        "/api/reports", 400, "filters.impacts", json_body=report(filters={"impacts": ["critical"]})
    ),
    "bad_resource_group": Case(
        "/api/reports",
        400,
        "filters.resourceGroups",
        json_body=report(filters={"resourceGroups": ["rg/../other"]}),
    ),
    "unknown_filter_key": Case("/api/reports", 400, "filters", json_body=report(filters={"regions": ["x"]})),
    "csv_garbage_binary": Case(
        "/api/reports/csv", 400, "file", raw=b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, params=CSV_PARAMS
    ),
    "csv_garbage_text": Case(
        "/api/reports/csv",
        400,
        "file",
        raw=b"hello,world\nthis is not,an Advisor export\n" * 5,
        params=CSV_PARAMS,
        message="header",
    ),
    "csv_bad_subscription_id": Case(
        "/api/reports/csv",
        400,
        "Subscription ID",
        raw=CSV_BAD_SUBSCRIPTION,
        params=CSV_PARAMS,
        message=r"(?i)\bline 3\b.*not-a-guid",
    ),
    # More subscriptions than a report may cover (MAX_SUBSCRIPTIONS): refused before anything
    # is stored, as the same list would be in a JSON body.
    "csv_501_subscriptions": Case(
        "/api/reports/csv", 400, "Subscription ID", raw=csv_naming(501), params=CSV_PARAMS, message="501.*500"
    ),
    "csv_900_subscriptions": Case(
        "/api/reports/csv", 400, "Subscription ID", raw=csv_naming(900), params=CSV_PARAMS, message="900.*500"
    ),
    "csv_savings_1e30": Case(
        "/api/reports/csv",
        400,
        "Potential Annual Cost Savings",
        raw=to_csv(
            HEADER_2025, [ROWS[0], row("Cost", "High", "Buy", SUB_A, "rg", "vm", **{SAVINGS: "1e30"})]
        ),
        params=CSV_PARAMS,
        message=r"Line 3, column Potential Annual Cost Savings",
    ),
    "csv_savings_nan": Case(
        "/api/reports/csv",
        400,
        "Potential Annual Cost Savings",
        raw=to_csv(HEADER_2025, [row("Cost", "High", "Buy", SUB_A, "rg", "vm", **{SAVINGS: "NaN"})]),
        params=CSV_PARAMS,
        message=r"Line 2, column Potential Annual Cost Savings",
    ),
    "csv_8000_columns": Case(
        "/api/reports/csv", 400, "file", raw=WIDE_CSV, params=CSV_PARAMS, message=r"Line 1 .*8000 columns"
    ),
    "csv_header_only": Case("/api/reports/csv", 400, "file", raw=to_csv(HEADER_2025, []), params=CSV_PARAMS),
    "csv_empty_body": Case("/api/reports/csv", 400, "body", raw=b"", params=CSV_PARAMS),
    "csv_blank_body": Case("/api/reports/csv", 400, "body", raw=b"\r\n  \n", params=CSV_PARAMS),
    "csv_unknown_report_type": Case(
        "/api/reports/csv", 400, "reportType", raw=CSV_OK, params={"reportType": "weekly"}
    ),
    "csv_missing_report_type": Case("/api/reports/csv", 400, "reportType", raw=CSV_OK, params={}),
    "csv_unknown_format": Case(
        "/api/reports/csv", 400, "formats", raw=CSV_OK, params={"reportType": "cost", "formats": "docx"}
    ),
    "csv_unknown_category": Case(
        "/api/reports/csv",
        400,
        ("category", "filters.categories"),  # the query parameter is "category"
        raw=CSV_OK,
        params={"reportType": "cost", "category": "Savings"},
    ),
    "csv_customer_too_long": Case(
        "/api/reports/csv", 400, "customer", raw=CSV_OK, params={**CSV_PARAMS, "customer": "c" * 121}
    ),
    "csv_oversized": Case(
        "/api/reports/csv",
        413,
        None,
        raw=CSV_OK + b"x" * (MAX_CSV_BYTES + 1 - len(CSV_OK)),
        params=CSV_PARAMS,
        code="too_large",
        message="20 MB",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_and_nothing_is_stored(api: ApiClient, name: str, nothing_stored: None) -> None:
    case = CASES[name]
    if case.raw is not None:
        content_type = "application/json" if case.path == "/api/reports" else "text/csv"
        response = api.post(
            case.path, data=case.raw, params=case.params, headers={"Content-Type": content_type}, timeout=60
        )
    else:
        response = api.post(case.path, json=case.json_body, params=case.params)

    assert response.status_code == case.status, response.text[:500]
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == case.code
    assert error.get("field") in (case.field if isinstance(case.field, tuple) else (case.field,))
    assert error["message"] and len(error["message"]) <= 600
    if case.message:
        assert re.search(case.message, error["message"]), error["message"]
    assert "Traceback" not in response.text


def test_a_hostile_csv_is_refused(api: ApiClient, nothing_stored: None) -> None:
    # How fast: `make bench` (bench/parse_bench.py).
    response = api.post(
        "/api/reports/csv", data=WIDE_CSV, params=CSV_PARAMS, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 400, response.text


def test_malformed_csv_errors_name_the_line(api: ApiClient, nothing_stored: None) -> None:
    # Not UTF-8 from the 4th line on: the message says where, so the user can fix the file.
    data = to_csv(HEADER_2025, ROWS[:2], bom=False) + b"Cost,High,Caf\xe9 \xff,x\r\n"
    response = api.post(
        "/api/reports/csv", data=data, params=CSV_PARAMS, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["field"] == "file"
    assert re.search(r"(?i)\bline 4\b", error["message"]), error["message"]
    # An unclosed quote: the row runs to the end of the file and the header's width is not met.
    data = to_csv(HEADER_2025, ROWS[:1], bom=False) + b'Cost,High,"Unclosed,' + SUB_A.encode() + b"\r\n"
    response = api.post(
        "/api/reports/csv", data=data, params=CSV_PARAMS, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 400, response.text
    assert re.search(r"(?i)\bline 3\b", response.json()["error"]["message"]), response.text


def test_csv_error_names_its_line_once(api: ApiClient, nothing_stored: None) -> None:
    """The parser's message already starts with "Line 3, ..."; the API must not prefix another
    "line 3: " (triggers/http.py adds it unless the message contains lower-case "line")."""
    response = api.post(
        "/api/reports/csv", data=CSV_BAD_SUBSCRIPTION, params=CSV_PARAMS, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert len(re.findall(r"(?i)\bline 3\b", message)) == 1, message


def test_oversized_csv_without_a_content_length_is_413(api: ApiClient, nothing_stored: None) -> None:
    def chunks() -> Any:
        yield CSV_OK
        for _ in range(21):
            yield b"x" * (1024 * 1024)

    # A generator body goes out chunked: the size is only known once the body is read.
    response = api.post(
        "/api/reports/csv", data=chunks(), params=CSV_PARAMS, headers={"Content-Type": "text/csv"}, timeout=60
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 413, response.text[:300]
    assert response.json()["error"]["code"] == "too_large"


def test_a_request_that_is_not_json_at_all(api: ApiClient, nothing_stored: None) -> None:
    response = api.post("/api/reports", data=b"subscriptionIds=1&reportType=cost",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "body"
    response = api.post("/api/reports", data=json.dumps(report()).encode()[:-1])
    assert response.status_code == 400
