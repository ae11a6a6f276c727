"""Secrets never leave: the stand-in's client secrets (the Advisor app registration's, read from
Key Vault at run time, and the app's own identity's), the storage account key and the bearer
tokens issued never appear in an answer, in a report resource or file, or in the orchestration
history (through the host's Durable API and as stored in the task hub's tables)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from .support import TASK_HUB, ApiClient, find_secrets, history_events, secret_values

pytestmark = pytest.mark.e2e


def stored_history(stack: Any, instance_id: str) -> str:
    from azure.data.tables import TableServiceClient

    service = TableServiceClient.from_connection_string(stack.storage_connection)
    texts = []
    for table in (f"{TASK_HUB}History", f"{TASK_HUB}Instances"):
        rows = service.get_table_client(table).query_entities(
            "PartitionKey eq @pk", parameters={"pk": instance_id}
        )
        texts += [json.dumps(dict(r), default=str) for r in rows]
    assert texts, "nothing stored for the instance"
    return "\n".join(texts)


def test_no_secret_in_answers_resources_files_or_history(
    api: ApiClient, stack: Any, new_subscriptions: Any, tmp_path: Any
) -> None:
    good, throttled, forbidden = (s["subscriptionId"] for s in new_subscriptions(3, 20))
    # A failed activity (its error and details go into history) and a left-out subscription.
    stack.standin.inject_fault(subscription=throttled, operation="list", status=429, retry_after=0, count=4)
    stack.standin.inject_fault(subscription=forbidden, status=403)
    started = api.start(
        {"subscriptionIds": [good, throttled, forbidden], "reportType": "detailed", "customer": "Contoso"}
    )
    report = api.poll(started.headers["Location"])
    assert report["status"] == "completed", report.get("failure")
    assert [e["subscriptionId"] for e in report["scope"]["subscriptionsLeftOut"]] == [forbidden.lower()]
    # And a report that fails outright.
    failed_start = api.start({"subscriptionIds": [forbidden], "reportType": "cost"})
    failed = api.poll(failed_start.headers["Location"])
    assert failed["status"] == "failed"

    secrets = secret_values(stack)
    assert len(secrets) >= 4  # two client secrets, the account key, at least one token issued
    assert all(find_secrets(f"<p>{s}</p>", secrets) for s in secrets)  # the detector does detect

    texts: dict[str, str] = {
        "start": started.text,
        "report": json.dumps(report),
        "failed report": json.dumps(failed),
        "list": api.list_reports(limit=100).text,
    }
    for name, start in (("completed", started), ("failed", failed_start)):
        history = api.history(start.json()["reportId"])
        assert history["historyEvents"], name
        assert history["input"], name
        texts[f"{name} history"] = json.dumps(history)
        texts[f"{name} stored history"] = stored_history(stack, start.json()["reportId"])
        # The function key opens the management API; it has no business in the history.
        assert stack.key not in texts[f"{name} history"], name
        assert stack.key not in texts[f"{name} stored history"], name
    # The throttled fetch's retries live in its own sub-orchestration's history.
    rid = started.json()["reportId"]
    fetch_history = api.fetch_history(rid, throttled.lower())
    assert history_events(fetch_history, "fetch_subscription", "TaskFailed"), "no failed activity to check"
    texts["fetch history"] = json.dumps(fetch_history)
    texts["fetch stored history"] = stored_history(stack, f"{rid}:fetch:{throttled.lower()}")
    for name in ("fetch history", "fetch stored history"):
        assert stack.key not in texts[name], name

    _, html = api.download(report["files"]["html"])
    texts["html"] = html.content.decode("utf-8")
    _, pdf = api.download(report["files"]["pdf"])
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.content)
    texts["pdf"] = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, timeout=30
    ).stdout.decode("utf-8")
    texts["pdf bytes"] = pdf.content.decode("latin-1")

    for name, text in texts.items():
        assert not find_secrets(text, secrets), f"{name}: {find_secrets(text, secrets)}"
    # Every answer this session has seen, checked again against every token issued until now.
    assert api.seen
    for seen in api.seen:
        assert not find_secrets(seen.body, secrets), f"{seen.method} {seen.url}"
