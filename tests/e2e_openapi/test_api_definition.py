"""The OpenAPI definition against the running app (devhost): it is served as committed, the
answers of a real session match it (a customer, a subscription, and three reports polled
through their Location as a Logic App does: one completed with its files, one failed, one from
a CSV export), and a schemathesis run over every operation finds no 5xx and no answer the
definition does not describe.

The schemathesis run sends the function key as the connector does (``x-functions-key``), uses
each operation's schema to generate requests (positive: valid by the definition; negative:
invalid, where the app must answer 4xx, never 5xx; for operations that take parameters),
derandomized so a run is repeatable, and a bounded number of examples per operation. The only
operations left out are those the app does not register yet (``NOT_YET_REGISTERED`` in
tests/unit/test_openapi.py: the host answers 404 for them, which says nothing about the app);
and one value is changed: an https ``callbackUrl`` gets an address-literal host (see
``NO_DNS_CALLBACKS``), so the run sends no DNS query off this machine.
A longer, randomized run (150 examples per operation and mode, 5,704 cases) found one bug, a
500 when deleting a customer before any logo was ever stored; it is fixed and pinned in
tests/integration/test_blob_store.py.
"""

from __future__ import annotations

import base64
import io
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from openapi.__main__ import FILE
from tests.e2e.support import HEADER_2025, SUB_A, ApiClient, row, to_csv, within
from tests.unit.test_openapi import NOT_YET_REGISTERED

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 20
NEGATIVE_EXAMPLES_PER_OPERATION = 10
RUN_DEADLINE_SECONDS = 150


@pytest.fixture(scope="module")
def definition(api: ApiClient) -> dict[str, Any]:
    response = api.get("/api/openapi.json", key=False)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.text == FILE.read_text(encoding="utf-8")  # relative: devhost has no public URL
    return response.json()


@pytest.fixture(scope="module")
def schema(definition: dict[str, Any], api: ApiClient) -> Any:
    import schemathesis

    loaded = schemathesis.openapi.from_dict(definition)
    loaded.config.update(base_url=f"{api.base}/api", headers={"x-functions-key": api.key})
    return loaded


def check_answer(schema: Any, definition: dict[str, Any], path: str, method: str, response: Any) -> None:
    """The answer is one the definition names for the operation, and its body matches."""
    documented = definition["paths"][path][method.lower()]["responses"]
    assert str(response.status_code) in documented, f"{method} {path}: {response.status_code} {response.text}"
    schema[path][method.upper()].validate_response(response)


def test_the_connection_test_needs_the_key(api: ApiClient) -> None:
    assert api.get("/api/connection", key=False).status_code == 401
    answer = api.http.get(f"{api.base}/api/connection", headers={"x-functions-key": api.key}, timeout=10)
    assert answer.status_code == 200 and answer.json() == {"connected": True}


def _logo() -> str:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (120, 40), (12, 90, 160)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


def test_the_answers_of_a_real_session_match_the_definition(
    api: ApiClient, schema: Any, definition: dict[str, Any], sample_subscriptions: list[str]
) -> None:
    def check(path: str, method: str, response: Any) -> Any:
        check_answer(schema, definition, path, method, response)
        return response.json() if response.content else None

    customer = check(
        "/customers", "post",
        api.post("/api/customers", json={"name": "Fabrikam", "branding": {
            "displayName": "Fabrikam Ltd", "accentColor": "#0078D4", "logo": _logo()}}),
    )  # fmt: skip
    cid = customer["customerId"]
    sub = sample_subscriptions[0]
    check(
        "/subscriptions",
        "post",
        api.post("/api/subscriptions", json={"subscriptionId": sub, "customerId": cid}),
    )
    check("/customers", "get", api.get("/api/customers"))
    check("/customers/{customerId}", "get", api.get(f"/api/customers/{cid}"))
    check(
        "/customers/{customerId}", "patch", api.call("PATCH", f"/api/customers/{cid}", json={"name": "Fab"})
    )
    check("/subscriptions", "get", api.get("/api/subscriptions", params={"customerId": cid}))
    check("/subscriptions/{subscriptionId}", "get", api.get(f"/api/subscriptions/{sub}"))
    patched = api.call("PATCH", f"/api/subscriptions/{sub}", json={"displayName": "Production"})
    check("/subscriptions/{subscriptionId}", "patch", patched)
    tested = check(
        "/subscriptions/{subscriptionId}/test", "post", api.post(f"/api/subscriptions/{sub}/test", timeout=40)
    )
    assert tested["success"] is True, tested
    check(
        "/subscriptions/{subscriptionId}/statistics", "get", api.get(f"/api/subscriptions/{sub}/statistics")
    )
    check("/customers/{customerId}/statistics", "get", api.get(f"/api/customers/{cid}/statistics"))

    def poll(started: Any) -> dict[str, Any]:
        """Follow Location as a Logic App does, each 202 and the final 200 checked."""
        location = started.headers["Location"]
        assert "/api/links/reports/" in location  # a signed link: the poller needs no key
        deadline = time.monotonic() + 40
        while True:
            answer = api.get(location, key=False)
            check("/links/reports/{reportId}", "get", answer)
            if answer.status_code != 202:
                return answer.json()
            assert time.monotonic() < deadline, answer.text
            time.sleep(min(float(answer.headers["Retry-After"]), 0.2))
            location = answer.headers["Location"]

    # A report by customer: completed, with its files.
    started = api.post("/api/reports", json={"customerId": cid, "reportType": "detailed"})
    check("/reports", "post", started)
    report = poll(started)
    assert report["status"] == "completed", report
    rid = report["reportId"]
    check("/reports/{reportId}", "get", api.get(f"/api/reports/{rid}"))
    check("/reports/{reportId}/files/{fmt}", "get", api.get(f"/api/reports/{rid}/files/pdf"))
    check("/links/reports/{reportId}/files/{fmt}", "get", api.get(report["files"]["pdf"], key=False))
    check("/reports", "get", api.list_reports(customerId=cid, limit=5))

    # A report that fails (no subscription can be read), and one from a CSV export.
    failing = api.post("/api/reports", json={"subscriptionIds": [str(uuid.uuid4())], "reportType": "cost"})
    check("/reports", "post", failing)
    failed = poll(failing)
    assert failed["status"] == "failed" and failed["failure"]["code"], failed
    gone = f"/api/reports/{failed['reportId']}"
    check("/reports/{reportId}", "delete", api.call("DELETE", gone))
    check("/reports/{reportId}", "get", api.get(gone))  # 404 now
    check("/reports/{reportId}", "delete", api.call("DELETE", gone))
    csv = to_csv(HEADER_2025, [row("Cost", "High", "Buy reserved instances", SUB_A, "rg-a", "vm-1")])
    csv_started = api.start_csv(csv, reportType="cost", formats="html", customer="Contoso")
    check("/reports/csv", "post", csv_started)
    assert poll(csv_started)["status"] == "completed"

    check("/subscriptions/{subscriptionId}", "delete", api.call("DELETE", f"/api/subscriptions/{sub}"))
    check("/customers/{customerId}", "delete", api.call("DELETE", f"/api/customers/{cid}"))
    check("/health", "get", api.get("/api/health", key=False))


# -- the property-based run ----------------------------------------------------------------------


@dataclass
class Run:
    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


# A generated https callbackUrl would make the app resolve a random host name (its address check
# resolves the host before anything else is decided), sending DNS queries off this machine. Each
# is replaced by a URL whose host is an address literal of a kind the app refuses, so the whole
# check still runs and no query leaves; anything else (not https, not a string) is sent as
# generated and is refused before any lookup.
NO_DNS_CALLBACKS = (
    "https://127.0.0.1/hook",
    "https://10.0.0.7/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]:8443/hook",
    "https://[fd00::1]/hook",
    "https://100.64.0.1/hook",
    "https://0x7f.0.0.1/hook",
)


def _no_dns(case: Any) -> Any:
    for values in (case.body, case.query):
        url = values.get("callbackUrl") if isinstance(values, dict) else None
        if isinstance(url, str) and url.strip().lower().startswith("https:"):
            values["callbackUrl"] = NO_DNS_CALLBACKS[sum(url.encode("utf-8")) % len(NO_DNS_CALLBACKS)]
    return case


def _run_operation(operation: Any, mode: Any, examples: int, checks: list[Any], run: Run) -> None:
    from hypothesis import HealthCheck, Phase, given, settings

    session = requests.Session()
    session.trust_env = False

    @given(case=operation.as_strategy(generation_mode=mode).map(_no_dns))
    @settings(
        max_examples=examples, deadline=None, database=None, derandomize=True,
        phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    def exercise(case: Any) -> None:
        response = case.call(session=session, timeout=40)
        run.cases += 1
        run.statuses[response.status_code] = run.statuses.get(response.status_code, 0) + 1
        case.validate_response(response, checks=checks)

    try:
        exercise()
    except Exception as exc:  # one operation's failure must not hide another's
        run.failures.append(f"{mode.value} {operation.label}: {str(exc)[:3000]}")


@pytest.mark.filterwarnings(
    "ignore::hypothesis.errors.HypothesisDeprecationWarning"
)  # schemathesis's own strategies
def test_schemathesis_finds_no_server_error_and_no_answer_off_the_definition(
    schema: Any, definition: dict[str, Any]
) -> None:
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    # The CSV upload is text: sent as generated (random text must be refused with a 400).
    schemathesis.serializer.alias("text/csv", "text/plain")
    positive = [
        not_a_server_error, status_code_conformance, content_type_conformance,
        response_headers_conformance, response_schema_conformance,
    ]  # fmt: skip
    negative = [not_a_server_error, status_code_conformance, content_type_conformance]
    run, operations, started = Run(), 0, time.monotonic()
    with within(RUN_DEADLINE_SECONDS):
        for result in schema.get_all_operations():
            operation = result.ok()
            method, path = operation.method.lower(), operation.path
            if (path, method) in NOT_YET_REGISTERED:
                continue
            operations += 1
            _run_operation(operation, GenerationMode.POSITIVE, EXAMPLES_PER_OPERATION, positive, run)
            if definition["paths"][path][method]["parameters"]:  # else there is nothing to make invalid
                _run_operation(
                    operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES_PER_OPERATION, negative, run
                )
    took = time.monotonic() - started
    print(f"schemathesis: {run.cases} cases, {operations} operations, {took:.0f} s; statuses {run.statuses}")
    assert run.failures == [], "\n\n".join(run.failures)
    assert operations == len(
        {(p, m) for p, item in schema.raw_schema["paths"].items() for m in item} - NOT_YET_REGISTERED
    )
    assert run.cases >= operations * 5  # the run really ran
