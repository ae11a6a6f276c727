"""The sample Logic App workflow (infra/logicapp/weekly-report.workflow.json) run against the app
on devhost the way the Logic Apps runtime runs it: its HTTP action's inputs with the
parameters filled in, the asynchronous pattern (follow ``Location``, honour ``Retry-After``,
stop at the first answer that is not 202), the condition on the final body, and the mail's
PDF link, which the recipient opens without any key."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from tests.e2e.support import ApiClient
from tests.logicapp_workflow import evaluate, load, resolve

pytestmark = pytest.mark.e2e

POLL_CAP_SECONDS = 0.2  # Retry-After is honoured, capped so the test stays fast


def loopback_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies from the environment for loopback calls
    return session


def run_http_action(inputs: dict[str, Any], timeout: float = 60) -> requests.Response:
    """An HTTP action with the asynchronous pattern on (the default)."""
    session = loopback_session()
    response = session.request(
        inputs["method"], inputs["uri"], headers=inputs["headers"], json=inputs["body"]
    )
    deadline = time.monotonic() + timeout
    while response.status_code == 202 and "Location" in response.headers:
        assert time.monotonic() < deadline, "the report did not finish"
        time.sleep(min(float(response.headers.get("Retry-After", "1")), POLL_CAP_SECONDS))
        location = urljoin(response.url, response.headers["Location"])
        response = session.get(location)  # the signed link: no key needed to poll
    return response


def test_the_weekly_workflow_starts_waits_and_mails_a_working_pdf_link(
    api: ApiClient, sample_subscriptions: list[str]
) -> None:
    customer = api.post("/api/customers", json={"name": "Northwind"}).json()
    for sub in sample_subscriptions[:2]:
        registered = api.post(
            "/api/subscriptions", json={"subscriptionId": sub, "customerId": customer["customerId"]}
        )
        assert registered.status_code == 201, registered.text
    workflow = load()
    definition = workflow["definition"]
    parameters = {name: p["value"] for name, p in workflow["parameters"].items()}
    parameters.update(advisorReportsUrl=api.base, functionKey=api.key, customerId=customer["customerId"])

    start = definition["actions"]["Start_report"]
    final = run_http_action(resolve(start["inputs"], parameters, {}))
    assert final.status_code == 200, final.text  # the action succeeds with the report as its body
    bodies = {"Start_report": final.json()}
    api.check_no_secrets(final)

    condition = definition["actions"]["Report_completed"]
    (left, right) = condition["expression"]["and"][0]["equals"]
    assert evaluate(left[1:], parameters, bodies) == right == "completed", bodies["Start_report"].get(
        "failure"
    )
    (mail,) = condition["actions"].values()
    message = resolve(mail["inputs"]["body"], parameters, bodies)
    assert message["To"] == parameters["mailTo"]
    assert "Northwind" in message["Subject"]
    pdf_link = bodies["Start_report"]["files"]["pdf"]
    assert f'href="{pdf_link}"' in message["Body"]
    assert api.key not in message["Body"] and "code=" not in pdf_link

    # The recipient clicks the link: no function key, a 302 to the file.
    recipient = loopback_session()
    redirect = recipient.get(urljoin(api.base, pdf_link), allow_redirects=False, timeout=30)
    assert redirect.status_code == 302, redirect.text
    pdf = recipient.get(redirect.headers["Location"], timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
