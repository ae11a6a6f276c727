"""The whole app configured as infra/ deploys it: storage through the identity-based
``AzureWebJobsStorage__*`` settings and a managed identity, no connection string, no key.

A report runs end to end on devhost (``DevStack(identity_storage=True)``: Azurite over HTTPS
checking OAuth tokens, the app's ``ManagedIdentityCredential`` served by a stand-in of the
platform's identity endpoint), and its file is downloaded through the link the app hands out,
which must be a user-delegation SAS. Its own package: the stack's settings live in
``os.environ`` and must not meet tests/e2e's stack.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.support import (
    E2E_SETTINGS,
    REPORT_TIMEOUT_SECONDS,
    ApiClient,
    started_stack,
    within,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    with started_stack(E2E_SETTINGS, identity_storage=True) as dev:
        yield dev


def test_a_report_runs_and_downloads_with_identity_based_storage_only(stack: Any, caplog) -> None:
    from shared import telemetry
    from shared.settings import get_settings

    caplog.set_level(logging.INFO, logger=telemetry.LOGGER_NAME)
    assert "AzureWebJobsStorage" not in os.environ
    assert get_settings().storage.uses_identity
    api = ApiClient(stack)
    api.http.verify = os.environ["TLS_CA_BUNDLE"]  # Azurite's test CA serves the SAS link
    subscriptions = list(stack.standin.subscription_ids)[:2]
    with within(REPORT_TIMEOUT_SECONDS + 10):
        response = api.start({"subscriptionIds": subscriptions, "reportType": "cost", "formats": ["html"]})
        report = api.poll(response.headers["Location"])
    assert report["status"] == "completed", report
    assert report["counts"]["recommendations"] > 0
    redirect, download = api.download(report["files"]["html"])
    query = parse_qs(urlsplit(redirect.headers["Location"]).query)
    assert {"skoid", "sktid", "skt", "ske"} <= set(query)  # user delegation: no key exists
    assert download.status_code == 200 and b"<html" in download.content.lower()
    # Every storage token came from the managed identity the settings name, for Storage.
    assert stack.identity.requests
    assert {r["client_id"] for r in stack.identity.requests} == {stack.identity.client_id}
    assert {r["resource"] for r in stack.identity.requests} == {"https://storage.azure.com"}
    # The run's telemetry: one event per step, correlated by report id, and the report's end.
    prefix = telemetry.EVENT + " "
    events = [
        json.loads(r.getMessage()[len(prefix) :])
        for r in caplog.records
        if r.name == telemetry.LOGGER_NAME and r.getMessage().startswith(prefix)
    ]
    mine = [e for e in events if e.get("report_id") == report["reportId"]]
    fetches = [e for e in mine if e.get("stage") == "fetch_subscription" and e["outcome"] == "ok"]
    assert len(fetches) == 2 and all(e["advisor_pages"] >= 1 for e in fetches)
    # (fetched: everything Advisor returned; the cost report counts its own share of it)
    assert sum(e["recommendations"] for e in fetches) >= report["counts"]["recommendations"]
    assert {"begin_report", "summarize_report", "render_html", "finalize_report"} <= {
        e.get("stage") for e in mine
    }
    ends = [e for e in mine if e["event"] == "report_end"]
    assert [(e["outcome"], e["recommendations"]) for e in ends] == [
        ("completed", report["counts"]["recommendations"])
    ]
