"""The report orchestrator and its sub-orchestrations, stepped as plain generators with a fake
context: every branch (bad input, begin refused, all fetches fail, some fail, timeout, a
sub-orchestration whose retries ran out, a render part failing, an activity failing, part
order) in well under a second.

The generators are the functions the Python worker indexes, reached the way the
durable-python samples do it (``.build().get_user_function().orchestrator_function``). Only
the context is fake: it records what the orchestrator schedules and answers from a script.
What the Durable extension does with those actions (replay, sequence numbers, WhenAll) is
pinned by tests/devhost against devhost, which follows the extension's code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestrators import report as report_module
from orchestrators import steps as steps_module
from shared.jobs import (
    BeginResult,
    FetchOutcome,
    RenderResult,
    ReportJob,
    RetrySpec,
    StepOutcome,
    SummaryResult,
)

RID = "0b0e8f5c-4c55-4b43-9d3c-9b0e3f3b1a01"
SUBS = [f"00000000-0000-0000-0000-00000000000{i}" for i in range(1, 5)]
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def user_function(builder: Any) -> Callable[..., Any]:
    return builder.build().get_user_function().orchestrator_function


report_orchestrator = user_function(report_module.report_orchestrator)
fetch_orchestrator = user_function(steps_module.fetch_subscription_orchestrator)
step_orchestrator = user_function(steps_module.report_step_orchestrator)


# -- the fake context ------------------------------------------------------------------------


@dataclass
class Task:
    kind: str  # activity | sub | all | any | timer
    name: str = ""
    input: Any = None
    instance_id: str | None = None
    retry: Any = None
    children: list[Task] = field(default_factory=list)
    result: Any = None
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class Context:
    """Records the actions an orchestrator schedules; nothing runs."""

    def __init__(self, input_: Any, *, instance_id: str = RID) -> None:
        self._input = input_
        self.instance_id = instance_id
        self.is_replaying = False
        self.current_utc_datetime = T0
        self.scheduled: list[Task] = []
        self.statuses: list[dict[str, Any]] = []

    def get_input(self) -> Any:
        return self._input

    def _add(self, task: Task) -> Task:
        self.scheduled.append(task)
        return task

    def call_activity_with_retry(self, name: str, retry_options: Any, input_: Any = None) -> Task:
        return self._add(Task("activity", name, input_, retry=retry_options))

    def call_sub_orchestrator(self, name: str, input_: Any = None, instance_id: str | None = None) -> Task:
        return self._add(Task("sub", name, input_, instance_id=instance_id))

    def create_timer(self, fire_at: datetime) -> Task:
        return self._add(Task("timer", input=fire_at))

    def task_all(self, tasks: list[Task]) -> Task:
        return Task("all", children=list(tasks))

    def task_any(self, tasks: list[Task]) -> Task:
        return Task("any", children=list(tasks))

    def set_custom_status(self, status: dict[str, Any]) -> None:
        self.statuses.append(status)

    def names(self, kind: str = "activity") -> list[str]:
        return [t.name for t in self.scheduled if t.kind == kind]


class Fail(Exception):
    """What the SDK raises into the orchestrator when a task failed (its retries ran out)."""


def drive(orchestrator: Callable[..., Any], ctx: Context, answer: Callable[[Task], Any]) -> Any:
    """Step the generator: each yielded task is answered by ``answer`` (an exception is thrown
    in, as the SDK does for a failed task); returns the orchestrator's output."""
    gen = orchestrator(ctx)
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            task = gen.throw(error) if error is not None else gen.send(value)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        try:
            value = answer(task)
        except Fail as exc:
            error = exc


# -- a scripted report run ---------------------------------------------------------------------


@dataclass
class Script:
    """How each step answers. Outcomes are what the sub-orchestrations return."""

    job: ReportJob = field(default_factory=lambda: ReportJob(RID, ["html", "pdf"], list(SUBS[:3])))
    begin: BeginResult | None = None
    fetch: dict[str, FetchOutcome] = field(default_factory=dict)  # default: ok, 5 each
    timeout: bool = False
    pdf_parts: int = 3
    step_errors: dict[str, str] = field(default_factory=dict)  # step instance id -> error
    failing: set[str] = field(default_factory=set)  # activities that fail after their retries
    callback: Any = None  # what the callback step returns (a StepOutcome dict), or raises

    def answer(self, task: Task) -> Any:
        if task.kind == "activity":
            if task.name in self.failing:
                raise Fail(f"Activity function '{task.name}' failed:  TransientError: storage is down")
            return self.activity(task)
        if task.kind == "any":  # the fetch fan-in racing the deadline
            fetched, deadline = task.children
            if self.timeout:
                return deadline
            fetched.result = [self.sub(child) for child in fetched.children]
            return fetched
        if task.kind == "all":
            return [self.sub(child) for child in task.children]  # in call order, as task_all does
        if task.kind == "sub":  # a step awaited alone: the callback
            return self.sub(task)
        raise AssertionError(f"unexpected yield of {task.kind}")

    def activity(self, task: Task) -> Any:
        if task.name == "begin_report":
            begun = self.begin or BeginResult(ok=True, job=self.job.to_dict())
            return begun.to_dict()
        if task.name == "summarize_report":
            return SummaryResult(RID, 42, self.pdf_parts, f"{RID}/summary.json").to_dict()
        if task.name == "assemble_pdf":
            return RenderResult(RID, "pdf", -1, f"{RID}/report.pdf", 10, 0.1).to_dict()
        if task.name == "finalize_report":
            return {"reportId": RID, "status": "completed", "files": task.input["files"]}
        if task.name == "set_report_status":
            return {"reportId": RID, "status": task.input["status"]}
        raise AssertionError(f"unexpected activity {task.name}")

    def sub(self, task: Task) -> Any:
        assert task.kind == "sub"
        if task.name == steps_module.FETCH_ORCHESTRATOR:
            sub = task.input["subscription_id"]
            return self.fetch.get(sub, FetchOutcome(sub, ok=True, count=5, pages=1)).to_dict()
        if task.instance_id in self.step_errors:
            return StepOutcome(False, error=self.step_errors[task.instance_id]).to_dict()
        step = task.input["input"]
        if task.input["activity"] == "deliver_callback":
            if isinstance(self.callback, Exception):
                raise self.callback
            delivered = StepOutcome(True, {"report_id": RID, "status": "delivered", "attempts": 1})
            return self.callback or delivered.to_dict()
        if task.input["activity"] == "import_csv":
            return StepOutcome(True, FetchOutcome("csv", ok=True, count=9).to_dict()).to_dict()
        fmt, part = step["fmt"], step["part"]
        blob = f"{RID}/parts/part-{part:04d}.pdf" if fmt == "pdf" else f"{RID}/report.{fmt}"
        return StepOutcome(True, RenderResult(RID, fmt, part, blob, 10, 0.1).to_dict()).to_dict()


def run_report(script: Script, input_: Any = None) -> tuple[Any, Context]:
    ctx = Context({"report_id": RID} if input_ is None else input_)
    return drive(report_orchestrator, ctx, script.answer), ctx


def failed_status(ctx: Context) -> dict[str, Any]:
    (task,) = [t for t in ctx.scheduled if t.name == "set_report_status"]
    return task.input


# -- the report orchestrator -------------------------------------------------------------------


def test_a_report_runs_every_step_in_order_and_completes():
    out, ctx = run_report(Script())
    files = {"html": f"{RID}/report.html", "pdf": f"{RID}/report.pdf"}
    assert out == {"reportId": RID, "status": "completed", "files": files}
    assert ctx.names() == ["begin_report", "summarize_report", "assemble_pdf", "finalize_report"]
    fetches = [t for t in ctx.scheduled if t.name == steps_module.FETCH_ORCHESTRATOR]
    assert [t.instance_id for t in fetches] == [f"{RID}:fetch:{s}" for s in SUBS[:3]]
    assert [t.instance_id for t in ctx.scheduled if t.name == steps_module.STEP_ORCHESTRATOR] == [
        f"{RID}:html", f"{RID}:pdf:0000", f"{RID}:pdf:0001", f"{RID}:pdf:0002",
    ]  # fmt: skip
    (timer,) = [t for t in ctx.scheduled if t.kind == "timer"]
    assert timer.input == T0 + timedelta(seconds=600) and timer.cancelled
    assert [s["stage"] for s in ctx.statuses] == [
        "fetching", "summarizing", "generating", "finalizing", "completed",
    ]  # fmt: skip


def test_only_the_requested_formats_are_rendered():
    out, ctx = run_report(Script(job=ReportJob(RID, ["html"], [SUBS[0]])))
    steps = [t.instance_id for t in ctx.scheduled if t.name == steps_module.STEP_ORCHESTRATOR]
    assert steps == [f"{RID}:html"] and "assemble_pdf" not in ctx.names()
    assert out["files"] == {"html": f"{RID}/report.html"}


def test_the_action_plan_exports_render_in_their_own_steps_apart_from_the_csv_import():
    job = ReportJob(RID, ["csv", "xlsx", "pdf"], [], source="csv")
    out, ctx = run_report(Script(job=job, pdf_parts=1))
    steps = [(t.instance_id, t.input["activity"]) for t in ctx.scheduled if t.kind == "sub"]
    assert steps == [
        (f"{RID}:csv", "import_csv"),
        (f"{RID}:export:xlsx", "render_export"),
        (f"{RID}:export:csv", "render_export"),
        (f"{RID}:pdf:0000", "render_pdf_part"),
    ]
    assert len({instance for instance, _ in steps}) == len(steps)
    assert out["files"] == {
        "xlsx": f"{RID}/report.xlsx",
        "csv": f"{RID}/report.csv",
        "pdf": f"{RID}/report.pdf",
    }
    out, _ = run_report(Script(job=job, pdf_parts=1, step_errors={f"{RID}:export:csv": "disk full"}))
    assert (out["failureCode"], out["failureMessage"]) == (
        "render_failed",
        "1 of 3 report files could not be rendered: disk full",
    )


def test_the_pdf_parts_are_assembled_in_part_order():
    _, ctx = run_report(Script(pdf_parts=12))
    (assemble,) = [t for t in ctx.scheduled if t.name == "assemble_pdf"]
    assert assemble.input["part_blobs"] == [f"{RID}/parts/part-{i:04d}.pdf" for i in range(12)]


def test_the_retry_policy_comes_from_the_job():
    job = ReportJob(RID, ["html"], [SUBS[0]], retry=RetrySpec(attempts=5, interval_ms=1234))
    _, ctx = run_report(Script(job=job))
    (fetch,) = [t for t in ctx.scheduled if t.name == steps_module.FETCH_ORCHESTRATOR]
    assert fetch.input["retry"] == {"attempts": 5, "interval_ms": 1234}
    (summarize,) = [t for t in ctx.scheduled if t.name == "summarize_report"]
    assert summarize.retry.max_number_of_attempts == 5
    assert summarize.retry.first_retry_interval_in_milliseconds == 1234


@pytest.mark.parametrize("bad", [None, {}, {"report_id": "not-a-guid"}, ["x"], {"reportId": RID}])
def test_bad_input_acts_on_nothing(bad):
    out, ctx = run_report(Script(), input_=bad if bad is not None else "null-input")
    assert out["status"] == "ignored" and ctx.scheduled == []


def test_a_refused_begin_acts_on_nothing_more():
    out, ctx = run_report(Script(begin=BeginResult(ok=False, reason=f"Report {RID} is already completed")))
    assert out == {"reportId": RID, "status": "ignored", "reason": f"Report {RID} is already completed"}
    assert ctx.names() == ["begin_report"] and len(ctx.scheduled) == 1


def test_when_every_fetch_fails_the_report_fails_with_the_reasons():
    fetch = {
        s: FetchOutcome(s, ok=False, failure_code="forbidden", failure_message="No access") for s in SUBS[:3]
    }
    out, ctx = run_report(Script(fetch=fetch))
    assert out["status"] == "failed" and out["failureCode"] == "forbidden"
    assert out["failureMessage"].startswith("No subscription could be read: ")
    assert all(s in out["failureMessage"] for s in SUBS[:3])
    assert ctx.names() == ["begin_report", "set_report_status"]
    assert failed_status(ctx)["status"] == "failed"


def test_one_subscription_failing_alone_gives_its_own_reason():
    job = ReportJob(RID, ["html"], [SUBS[0]])
    fetch = {SUBS[0]: FetchOutcome(SUBS[0], ok=False, failure_code="not_found", failure_message="Unknown")}
    out, _ = run_report(Script(job=job, fetch=fetch))
    assert (out["failureCode"], out["failureMessage"]) == ("not_found", "Unknown")


def test_some_fetches_failing_leave_those_out_and_the_report_completes():
    fetch = {
        SUBS[1]: FetchOutcome(
            SUBS[1], ok=False, failure_code="unavailable",
            failure_message="Still failing after 3 attempts: throttled",
        ),  # what the fetch sub-orchestration returns when its retries ran out
    }  # fmt: skip
    out, ctx = run_report(Script(fetch=fetch))
    assert out["status"] == "completed" and "set_report_status" not in ctx.names()
    (summarize,) = [t for t in ctx.scheduled if t.name == "summarize_report"]
    assert summarize.input["api_pages"] == 2  # the two that were read, one page each
    assert ctx.statuses[1] == {"stage": "summarizing", "subscriptionsDone": 3, "subscriptionsLeftOut": 1}
    assert ctx.statuses[-1] == {"stage": "completed", "subscriptionsLeftOut": 1}


def test_the_fetch_timeout_fails_the_report_and_nothing_more_is_scheduled():
    out, ctx = run_report(Script(timeout=True))
    assert out["failureCode"] == "fetch_timeout" and "600 s" in out["failureMessage"]
    assert ctx.names() == ["begin_report", "set_report_status"]
    (timer,) = [t for t in ctx.scheduled if t.kind == "timer"]
    assert not timer.cancelled  # it fired


def test_a_failed_render_part_fails_the_report_and_nothing_is_assembled():
    out, ctx = run_report(Script(step_errors={f"{RID}:pdf:0001": "xhtml2pdf reported 1 error(s)"}))
    assert out["failureCode"] == "render_failed"
    assert out["failureMessage"] == "1 of 4 report files could not be rendered: xhtml2pdf reported 1 error(s)"
    assert "assemble_pdf" not in ctx.names() and "finalize_report" not in ctx.names()
    assert failed_status(ctx)["failure_code"] == "render_failed"


@pytest.mark.parametrize("activity", ["summarize_report", "assemble_pdf", "finalize_report"])
def test_an_activity_failing_after_its_retries_fails_the_report_with_its_message_only(activity):
    out, ctx = run_report(Script(failing={activity}))
    assert (out["failureCode"], out["failureMessage"]) == ("activity_failed", "storage is down")
    assert ctx.names()[-1] == "set_report_status"


def test_a_csv_report_imports_once_and_a_failed_import_fails_it():
    job = ReportJob(RID, ["html"], [], source="csv")
    out, ctx = run_report(Script(job=job))
    assert out["status"] == "completed"
    assert [t.input["activity"] for t in ctx.scheduled if t.kind == "sub"] == ["import_csv", "render_html"]
    out, _ = run_report(Script(job=job, step_errors={f"{RID}:csv": "The file has no header row"}))
    assert (out["failureCode"], out["failureMessage"]) == ("import_failed", "The file has no header row")


# -- the sub-orchestrations --------------------------------------------------------------------


def step_answer(result: Any = None, error: str | None = None) -> Callable[[Task], Any]:
    def answer(task: Task) -> Any:
        if error is not None and task.name != "record_fetch_outcome":
            raise Fail(error)
        return result

    return answer


FETCH_INPUT = {"report_id": RID, "subscription_id": SUBS[0], "retry": {"attempts": 2, "interval_ms": 10}}


def test_the_fetch_step_passes_the_activity_outcome_through():
    ok = FetchOutcome(SUBS[0], ok=True, count=7, pages=2).to_dict()
    ctx = Context(FETCH_INPUT)
    assert drive(fetch_orchestrator, ctx, step_answer(ok)) == ok
    (call,) = ctx.scheduled
    assert (call.name, call.input) == ("fetch_subscription", {"report_id": RID, "subscription_id": SUBS[0]})
    assert call.retry.max_number_of_attempts == 2


def test_a_fetch_whose_retries_ran_out_is_recorded_and_returned_as_left_out():
    ctx = Context(FETCH_INPUT)
    error = "Activity function 'fetch_subscription' failed:  TransientError: throttled \n Traceback..."
    out = drive(fetch_orchestrator, ctx, step_answer(error=error))
    assert out["ok"] is False and out["failure_code"] == "unavailable"
    assert out["failure_message"] == "Still failing after 2 attempts: throttled"
    assert ctx.names() == ["fetch_subscription", "record_fetch_outcome"]
    assert ctx.scheduled[1].input == {"report_id": RID, "outcome": out}


def test_a_fetch_step_still_answers_when_recording_fails_too():
    def answer(task: Task) -> Any:
        raise Fail("storage is down")

    out = drive(fetch_orchestrator, Context(FETCH_INPUT), answer)
    assert out["ok"] is False and out["subscription_id"] == SUBS[0]


def test_a_malformed_fetch_step_input_ends_at_once():
    ctx = Context({"report_id": RID})
    out = drive(fetch_orchestrator, ctx, step_answer())
    assert out["failure_code"] == "invalid_input" and ctx.scheduled == []


def test_the_generic_step_wraps_the_result_or_the_error():
    step = {"activity": "render_html", "input": {"report_id": RID, "fmt": "html"}, "retry": {}}
    assert drive(step_orchestrator, Context(step), step_answer({"blob": "b"})) == {
        "ok": True, "result": {"blob": "b"}, "error": "",
    }  # fmt: skip
    error = "Activity function 'render_html' failed:  RuntimeError: bad part"
    failed = drive(step_orchestrator, Context(step), step_answer(error=error))
    assert failed == {"ok": False, "result": None, "error": "bad part"}


def test_the_generic_step_runs_report_steps_only():
    ctx = Context({"activity": "begin_report", "input": {}, "retry": {}})
    out = drive(step_orchestrator, ctx, step_answer())
    assert out["ok"] is False and "is not a report step" in out["error"] and ctx.scheduled == []


# -- the callback ---------------------------------------------------------------------------------


def callback_steps(ctx: Context) -> list[Task]:
    return [
        t
        for t in ctx.scheduled
        if t.name == steps_module.STEP_ORCHESTRATOR and t.instance_id == f"{RID}:callback"
    ]


def with_callback(**kw: Any) -> ReportJob:
    return ReportJob(RID, ["html"], list(SUBS[:2]), callback=True, retry=RetrySpec(4, 500), **kw)


def test_a_completed_report_with_a_callback_delivers_it_last_in_a_step_with_the_report_id_only():
    out, ctx = run_report(Script(job=with_callback()))
    assert out["status"] == "completed"
    (step,) = callback_steps(ctx)
    assert ctx.scheduled[-1] is step
    assert step.input == {
        "activity": "deliver_callback", "input": {"report_id": RID, "attempts": 4},
        "retry": {"attempts": 4, "interval_ms": 500},
    }  # fmt: skip
    assert ctx.statuses[-1]["stage"] == "completed"


@pytest.mark.parametrize(
    "script",
    [
        Script(timeout=True),
        Script(
            fetch={s: FetchOutcome(s, ok=False, failure_code="forbidden", failure_message="No") for s in SUBS}
        ),
        Script(failing={"finalize_report"}),
        Script(step_errors={f"{RID}:html": "broken"}),
    ],
    ids=["timeout", "nothing-read", "finalize-failed", "render-failed"],
)
def test_a_failed_report_with_a_callback_delivers_it_after_recording_the_failure(script):
    script.job = with_callback()
    out, ctx = run_report(script)
    assert out["status"] == "failed"
    (step,) = callback_steps(ctx)
    names = [t.name for t in ctx.scheduled]
    assert names.index("set_report_status") < ctx.scheduled.index(step) == len(ctx.scheduled) - 1


def test_no_callback_no_step():
    _, ctx = run_report(Script())
    assert callback_steps(ctx) == []
    refused, ctx = run_report(Script(begin=BeginResult(ok=False, reason="not ours")))
    assert callback_steps(ctx) == []


@pytest.mark.parametrize(
    "answer",
    [
        StepOutcome(False, error="Still failing: The receiver answered HTTP 503").to_dict(),
        Fail("step failed"),
    ],
)
def test_a_callback_that_fails_never_changes_how_the_report_ended(answer):
    out, ctx = run_report(Script(job=with_callback(), callback=answer))
    assert out["status"] == "completed" and "set_report_status" not in ctx.names()
    out, ctx = run_report(Script(job=with_callback(), timeout=True, callback=answer))
    assert out["failureCode"] == "fetch_timeout"
    assert [t.name for t in ctx.scheduled].count("set_report_status") == 1


def test_the_callback_step_may_run_deliver_callback():
    assert "deliver_callback" in steps_module.STEP_ACTIVITIES
