"""The app's real report orchestrator and sub-orchestrations, unmodified, with scripted
activities in place of the real ones (the callback's delivery among them).

The real activities need Advisor, Table and Blob Storage; these answer from a script each test
writes into ``SCENARIOS`` (the host runs activities on threads of the test process, as the
Python worker runs sync functions, so the test and the activities share this module). That
lets the tests put the orchestrator through every fault the extension's replay rules make
dangerous: a fetch that retries while others finish, retries that run out, a render part that
retries while another fails for good, a timeout.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from orchestrators.report import bp as report_orchestration
from orchestrators.steps import bp as report_steps
from shared.jobs import (
    BeginInput,
    BeginResult,
    CallbackInput,
    FetchInput,
    FetchOutcome,
    OutcomeRecord,
    RenderInput,
    RenderResult,
    ReportJob,
    RetrySpec,
    StatusUpdate,
    SummaryResult,
)


@dataclass
class Scenario:
    """What the scripted activities do for one report. A script is a list of behaviours, one
    per attempt ("ok", "fail", "forbidden", or a number of seconds to sleep before "ok"); an
    exhausted script (or none) means "ok"."""

    subscriptions: list[str]
    formats: list[str] = field(default_factory=lambda: ["html", "pdf"])
    pdf_parts: int = 2
    fetch: dict[str, list[Any]] = field(default_factory=dict)
    render: dict[str, list[Any]] = field(default_factory=dict)  # "html" or "pdf:N"
    attempts: int = 3
    fetch_timeout_s: int = 30
    begin: str = "ok"
    callback: list[Any] | None = None  # None: no callback; else its script
    calls: list[tuple[str, str]] = field(default_factory=list)
    recorded: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, script: dict[str, list[Any]], key: str, activity: str) -> Any:
        with self.lock:
            self.calls.append((activity, key))
            steps = script.get(key) or []
            return steps.pop(0) if steps else "ok"

    def count(self, activity: str, key: str | None = None) -> int:
        return sum(1 for a, k in self.calls if a == activity and (key is None or k == key))


SCENARIOS: dict[str, Scenario] = {}


class ScriptedFault(Exception):
    """What a transient Advisor or storage fault looks like to the orchestrator."""


def _behave(step: Any) -> str:
    if isinstance(step, (int, float)):
        time.sleep(step)
        return "ok"
    if step == "fail":
        raise ScriptedFault("Advisor answered 500 (scripted)")
    return str(step)


activities = df.Blueprint()


@activities.activity_trigger(input_name="payload", activity="begin_report")
def begin_report(payload: dict) -> dict:
    begin = BeginInput.from_dict(payload)
    sc = SCENARIOS.get(begin.report_id)
    if sc is None or sc.begin != "ok":
        return BeginResult(ok=False, reason="No report with that id is stored").to_dict()
    job = ReportJob(
        begin.report_id, formats=sc.formats, subscription_ids=sc.subscriptions,
        retry=RetrySpec(sc.attempts, 50), fetch_timeout_s=sc.fetch_timeout_s,
        callback=sc.callback is not None,
    )  # fmt: skip
    return BeginResult(ok=True, job=job.to_dict()).to_dict()


@activities.activity_trigger(input_name="payload", activity="fetch_subscription")
def fetch_subscription(payload: dict) -> dict:
    job = FetchInput.from_dict(payload)
    sc = SCENARIOS[job.report_id]
    if _behave(sc.next(sc.fetch, job.subscription_id, "fetch_subscription")) == "forbidden":
        return FetchOutcome(
            job.subscription_id, ok=False, failure_code="authorization_failed",
            failure_message=f"No read access to subscription {job.subscription_id} (403)",
        ).to_dict()  # fmt: skip
    return FetchOutcome(job.subscription_id, ok=True, count=10, pages=1).to_dict()


@activities.activity_trigger(input_name="payload", activity="record_fetch_outcome")
def record_fetch_outcome(payload: dict) -> dict:
    record = OutcomeRecord.from_dict(payload)
    sc = SCENARIOS[record.report_id]
    with sc.lock:
        sc.recorded.append(record.outcome)
    return {}


@activities.activity_trigger(input_name="payload", activity="summarize_report")
def summarize_report(payload: dict) -> dict:
    rid = payload["report_id"]
    sc = SCENARIOS[rid]
    sc.next({}, "", "summarize_report")
    return SummaryResult(rid, 10, sc.pdf_parts, f"{rid}/summary.json").to_dict()


def _render(payload: dict, activity: str) -> dict:
    job = RenderInput.from_dict(payload)
    sc = SCENARIOS[job.report_id]
    key = "html" if job.fmt == "html" else f"pdf:{job.part}"
    _behave(sc.next(sc.render, key, activity))
    return RenderResult(job.report_id, job.fmt, job.part, f"{job.report_id}/{key}", 1, 0.0).to_dict()


@activities.activity_trigger(input_name="payload", activity="render_html")
def render_html(payload: dict) -> dict:
    return _render(payload, "render_html")


@activities.activity_trigger(input_name="payload", activity="render_pdf_part")
def render_pdf_part(payload: dict) -> dict:
    return _render(payload, "render_pdf_part")


@activities.activity_trigger(input_name="payload", activity="assemble_pdf")
def assemble_pdf(payload: dict) -> dict:
    rid = payload["report_id"]
    sc = SCENARIOS[rid]
    sc.next({}, ",".join(payload["part_blobs"]), "assemble_pdf")
    return RenderResult(rid, "pdf", -1, f"{rid}/report.pdf", 1, 0.0).to_dict()


@activities.activity_trigger(input_name="payload", activity="finalize_report")
def finalize_report(payload: dict) -> dict:
    rid = payload["report_id"]
    SCENARIOS[rid].next({}, "", "finalize_report")
    return {"reportId": rid, "status": "completed", "files": payload["files"]}


@activities.activity_trigger(input_name="payload", activity="set_report_status")
def set_report_status(payload: dict) -> dict:
    update = StatusUpdate.from_dict(payload)
    sc = SCENARIOS[update.report_id]
    with sc.lock:
        sc.statuses.append(update.to_dict())
    return {"reportId": update.report_id, "status": update.status}


@activities.activity_trigger(input_name="payload", activity="deliver_callback")
def deliver_callback(payload: dict) -> dict:
    job = CallbackInput.from_dict(payload)
    sc = SCENARIOS[job.report_id]
    _behave(sc.next({"": sc.callback or []}, "", "deliver_callback"))
    return {"report_id": job.report_id, "status": "delivered", "attempts": sc.count("deliver_callback")}


app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (report_orchestration, report_steps, activities):
    app.register_functions(blueprint)
