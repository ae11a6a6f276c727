"""A toy Durable Functions app that exercises the devhost Functions host.

Laid out like the real app: blueprints for client routes, orchestrators and activities, and a
``DFApp`` (HTTP auth level FUNCTION) that registers them. Activities record every call as a
JSON line in ``$DEVHOST_TOY_RECORD_DIR/<key>.log`` (appends are atomic across threads and
worker processes), so tests can count attempts and check that no work was lost across a
restart. ``race_retries``, ``race_children`` and ``all_with_straggler`` are the patterns the
Durable extension's replay rules decide (test_extension_rules.py).
"""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

RECORD_DIR_SETTING = "DEVHOST_TOY_RECORD_DIR"
TOY_ORCHESTRATORS = {
    "hello_sequence",
    "fan_out",
    "retry_flaky",
    "retry_always_fails",
    "permanent_failure",
    "timer_wait",
    "race_timeout",
    "approval",
    "custom_status",
    "stuck_forever",
    "durable_batch",
    "kitchen_sink",
    "parent",
    "counter",
    "runaway",
    "unsupported_http",
    "bad_output",
    "failing_child",
    "big_payload",
    "worker_crash",
    "race_retries",
    "race_children",
    "fetch_one",
    "all_with_straggler",
    "caught_failure",
    "slow_call",
    "async_pair",
}


def record(key: str, **fields: object) -> int:
    """Append one line for ``key``; return how many lines ``key`` had before."""
    folder = Path(os.environ[RECORD_DIR_SETTING])
    path = folder / f"{key}.log"
    line = json.dumps({"t": time.time(), "pid": os.getpid(), **fields}) + "\n"
    before = len(path.read_text().splitlines()) if path.exists() else 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    return before


# -- client routes ----------------------------------------------------------------------------
client_bp = df.Blueprint()


@client_bp.route(route="toy/start/{orchestrator:regex(^[a-z_]+$)}/{instance_id?}", methods=["POST"])
@client_bp.durable_client_input(client_name="client")
async def start_toy(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    name = req.route_params["orchestrator"]
    if name not in TOY_ORCHESTRATORS:
        return func.HttpResponse(json.dumps({"error": f"unknown orchestrator {name}"}), status_code=404)
    body = req.get_body()
    payload = json.loads(body) if body else None
    instance_id = await client.start_new(name, req.route_params.get("instance_id"), payload)
    if req.params.get("wait"):
        return await client.wait_for_completion_or_create_check_status_response(
            req,
            instance_id,
            timeout_in_milliseconds=int(req.params["wait"]),
            retry_interval_in_milliseconds=50,
        )
    return client.create_check_status_response(req, instance_id)


@client_bp.route(route="toy/status/{instance_id}", methods=["GET"])
@client_bp.durable_client_input(client_name="client")
async def toy_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    history = req.params.get("history") == "1"
    status = await client.get_status(
        req.route_params["instance_id"], show_history=history, show_history_output=history, show_input=True
    )
    if not status:
        return func.HttpResponse(status_code=404)
    payload = status.to_json()
    payload["historyEvents"] = getattr(status, "historyEvents", None)
    return func.HttpResponse(json.dumps(payload, default=str), mimetype="application/json")


@client_bp.route(route="toy/raise/{instance_id}/{event}", methods=["POST"])
@client_bp.durable_client_input(client_name="client")
async def toy_raise(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    await client.raise_event(req.route_params["instance_id"], req.route_params["event"], req.get_json())
    return func.HttpResponse(status_code=202)


@client_bp.route(route="toy/terminate/{instance_id}", methods=["POST"])
@client_bp.durable_client_input(client_name="client")
async def toy_terminate(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    await client.terminate(req.route_params["instance_id"], req.params.get("reason", "stopped by a test"))
    return func.HttpResponse(status_code=202)


@client_bp.route(route="toy/items/{item_id:int}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def item_by_number(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"number {int(req.route_params['item_id'])}")


@client_bp.route(route="toy/items/{slug}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def item_by_slug(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"slug {req.route_params['slug']}", headers={"X-Toy": "yes"})


@client_bp.route(route="toy/hello/{name?}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def hello(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name") or req.params.get("name") or "world"
    return func.HttpResponse(json.dumps({"hello": name, "url": req.url}), mimetype="application/json")


@client_bp.route(route="toy/boom", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("secret-value-that-must-not-leak")


@client_bp.timer_trigger(schedule="%TOY_TIMER_SCHEDULE%", arg_name="timer", run_on_startup=False)
@client_bp.durable_client_input(client_name="client")
async def toy_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    instance_id = await client.start_new("hello_sequence", None, ["timer"])
    kind = f"{type(timer).__module__}.{type(timer).__name__}"
    record(
        "toy_timer",
        past_due=timer.past_due,
        instance_id=instance_id,
        schedule=getattr(timer, "schedule", None),
        status=sorted(getattr(timer, "schedule_status", {})),
        kind=kind,
    )


# -- orchestrators ------------------------------------------------------------------------------
orchestrators_bp = df.Blueprint()


@orchestrators_bp.orchestration_trigger(context_name="context")
def hello_sequence(context: df.DurableOrchestrationContext):
    names = context.get_input() or ["Tokyo", "Seattle", "London"]
    results = []
    for name in names:
        results.append((yield context.call_activity("say_hello", name)))
    return results


@orchestrators_bp.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    job = context.get_input()
    tasks = [context.call_activity("square", {"i": i, "sleep": job.get("sleep", 0)}) for i in range(job["n"])]
    return (yield context.task_all(tasks))


def _retry(job: dict) -> df.RetryOptions:
    return df.RetryOptions(
        first_retry_interval_in_milliseconds=job.get("interval_ms", 300),
        max_number_of_attempts=job.get("attempts", 3),
    )


@orchestrators_bp.orchestration_trigger(context_name="context")
def retry_flaky(context: df.DurableOrchestrationContext):
    job = context.get_input()
    return (yield context.call_activity_with_retry("flaky", _retry(job), job))


@orchestrators_bp.orchestration_trigger(context_name="context")
def retry_always_fails(context: df.DurableOrchestrationContext):
    job = context.get_input()
    return (yield context.call_activity_with_retry("always_fails", _retry(job), job))


@orchestrators_bp.orchestration_trigger(context_name="context")
def permanent_failure(context: df.DurableOrchestrationContext):
    job = context.get_input()
    outcome = yield context.call_activity_with_retry("check_subscription", _retry(job), job)
    if not outcome["ok"]:
        raise ValueError(f"report failed permanently: {outcome['reason']}")
    return outcome


@orchestrators_bp.orchestration_trigger(context_name="context")
def timer_wait(context: df.DurableOrchestrationContext):
    delay = context.get_input()["seconds"]
    started = context.current_utc_datetime
    yield context.create_timer(started + timedelta(seconds=delay))
    return {"started": started.isoformat(), "resumed": context.current_utc_datetime.isoformat()}


@orchestrators_bp.orchestration_trigger(context_name="context")
def race_timeout(context: df.DurableOrchestrationContext):
    """A stage timeout: a fan-out raced against a durable timer."""
    job = context.get_input()
    work = context.task_all(
        [context.call_activity("square", {"i": i, "sleep": job["sleep"]}) for i in range(job["n"])]
    )
    timeout = context.create_timer(context.current_utc_datetime + timedelta(seconds=job["timeout"]))
    winner = yield context.task_any([work, timeout])
    if winner == timeout:
        return {"outcome": "timeout"}
    timeout.cancel()
    return {"outcome": "done", "results": work.result}


@orchestrators_bp.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "waiting for approval"})
    decision = yield context.wait_for_external_event("approval")
    return {"decision": decision}


@orchestrators_bp.orchestration_trigger(context_name="context")
def custom_status(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "fetching", "done": 0})
    first = yield context.call_activity("say_hello", "first")
    context.set_custom_status({"stage": "waiting", "done": 1})
    yield context.wait_for_external_event("go")
    context.set_custom_status({"stage": "finished", "done": 2})
    return first


@orchestrators_bp.orchestration_trigger(context_name="context")
def stuck_forever(context: df.DurableOrchestrationContext):
    yield context.wait_for_external_event("never")
    return "unreachable"


@orchestrators_bp.orchestration_trigger(context_name="context")
def durable_batch(context: df.DurableOrchestrationContext):
    """Items on the activity threads (sync_work): an async activity that sleeps would block the
    worker's one event loop, and with it the host's own answers."""
    job = context.get_input()
    tasks = [
        context.call_activity("sync_work", {"run": job["run"], "item": i, "sleep": job["sleep"]})
        for i in range(job["n"])
    ]
    return (yield context.task_all(tasks))


@orchestrators_bp.orchestration_trigger(context_name="context")
def kitchen_sink(context: df.DurableOrchestrationContext):
    """Every supported action in one orchestration, for the history-shape test."""
    job = context.get_input()
    squares = yield context.task_all([context.call_activity("square", {"i": i}) for i in range(3)])
    flaky = yield context.call_activity_with_retry("flaky", _retry(job), {"key": job["key"], "fail_times": 1})
    yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=200))
    timeout = context.create_timer(context.current_utc_datetime + timedelta(seconds=30))
    fast = context.call_activity("square", {"i": 7})
    winner = yield context.task_any([fast, timeout])
    if winner == fast:
        timeout.cancel()
    child = yield context.call_sub_orchestrator("hello_sequence", ["child"])
    context.set_custom_status("waiting for go")
    event = yield context.wait_for_external_event("go")
    try:
        yield context.call_activity("always_fails", {"key": job["key"] + "-once"})
    except Exception as exc:
        caught = str(exc).split("\n")[0].strip()
    return {
        "squares": squares,
        "flaky": flaky,
        "fast": fast.result,
        "child": child,
        "event": event,
        "caught": caught,
    }


@orchestrators_bp.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=2)
    one = yield context.call_sub_orchestrator("hello_sequence", ["a", "b"])
    two = yield context.call_sub_orchestrator_with_retry(
        "hello_sequence", retry, ["c"], f"{context.instance_id}-two"
    )
    return one + two


@orchestrators_bp.orchestration_trigger(context_name="context")
def failing_child(context: df.DurableOrchestrationContext):
    try:
        yield context.call_sub_orchestrator(
            "permanent_failure", {"key": context.instance_id + "-child", "attempts": 1}
        )
    except Exception as exc:
        return {"child_failed": str(exc)}
    return {"child_failed": None}


@orchestrators_bp.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):
    value = context.get_input()
    if value < 3:
        yield context.call_activity("square", {"i": value})
        context.continue_as_new(value + 1)
        return None
    return value


@orchestrators_bp.orchestration_trigger(context_name="context")
def runaway(context: df.DurableOrchestrationContext):
    while True:  # an orchestrator must never do this; the host's watchdog stops the replay
        pass
    yield  # pragma: no cover


@orchestrators_bp.orchestration_trigger(context_name="context")
def unsupported_http(context: df.DurableOrchestrationContext):
    return (yield context.call_http("GET", "http://127.0.0.1:9/never"))


@orchestrators_bp.orchestration_trigger(context_name="context")
def bad_output(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("returns_set", None)
    except Exception as exc:
        return {"error": str(exc).split("\n")[0].strip()}
    return {"error": None}


@orchestrators_bp.orchestration_trigger(context_name="context")
def big_payload(context: df.DurableOrchestrationContext):
    text = yield context.call_activity("big_text", context.get_input())
    return {"length": len(text), "tail": text[-5:]}


@orchestrators_bp.orchestration_trigger(context_name="context")
def worker_crash(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("crash_worker", None)
    except Exception as exc:
        return {"error": str(exc).split("\n")[0].strip()}
    return {"error": None}


@orchestrators_bp.orchestration_trigger(context_name="context")
def race_retries(context: df.DurableOrchestrationContext):
    """The pattern the extension cannot replay: activities WITH retries raced against a timeout,
    the timeout cancelled, then one more activity (it takes a retry timer's sequence number)."""
    job = context.get_input()
    fetched = context.task_all(
        [
            context.call_activity_with_retry(
                "flaky", _retry(job), {"key": f"{job['key']}-{i}", "fail_times": job["fail_times"][i]}
            )
            for i in range(len(job["fail_times"]))
        ]
    )
    deadline = context.create_timer(context.current_utc_datetime + timedelta(seconds=job["timeout"]))
    winner = yield context.task_any([fetched, deadline])
    if winner is deadline:
        return {"outcome": "timeout"}
    deadline.cancel()
    summary = yield context.call_activity("say_hello", "summary")
    return {"outcome": "done", "results": fetched.result, "summary": summary}


@orchestrators_bp.orchestration_trigger(context_name="context")
def race_children(context: df.DurableOrchestrationContext):
    """The same race with the retries moved into one sub-orchestration per item: the parent's own
    history holds no retry timer, so cancelling the timeout and going on is safe."""
    job = context.get_input()
    fetched = context.task_all(
        [
            context.call_sub_orchestrator(
                "fetch_one",
                {
                    "key": f"{job['key']}-{i}",
                    "fail_times": job["fail_times"][i],
                    "interval_ms": job.get("interval_ms", 300),
                    "attempts": job.get("attempts", 3),
                },
            )
            for i in range(len(job["fail_times"]))
        ]
    )
    deadline = context.create_timer(context.current_utc_datetime + timedelta(seconds=job["timeout"]))
    winner = yield context.task_any([fetched, deadline])
    if winner is deadline:
        return {"outcome": "timeout"}
    deadline.cancel()
    summary = yield context.call_activity("say_hello", "summary")
    return {"outcome": "done", "results": fetched.result, "summary": summary}


@orchestrators_bp.orchestration_trigger(context_name="context")
def fetch_one(context: df.DurableOrchestrationContext):
    """Owns its retries and returns a typed outcome instead of failing."""
    job = context.get_input()
    try:
        value = yield context.call_activity_with_retry("flaky", _retry(job), job)
    except Exception as exc:
        return {"ok": False, "reason": str(exc).split(" \n ", 1)[0]}
    return {"ok": True, "attempts": value["attempts"]}


@orchestrators_bp.orchestration_trigger(context_name="context")
def all_with_straggler(context: df.DurableOrchestrationContext):
    """task_all where one child fails for good while a sibling is still retrying."""
    job = context.get_input()
    doomed = context.call_activity_with_retry(
        "always_fails",
        df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=2),
        {"key": f"{job['key']}-doomed"},
    )
    straggler = context.call_activity_with_retry(
        "flaky",
        df.RetryOptions(first_retry_interval_in_milliseconds=job["interval_ms"], max_number_of_attempts=3),
        {"key": f"{job['key']}-straggler", "fail_times": 1, "sleep": job["sleep"]},
    )
    try:
        yield context.task_all([doomed, straggler])
        outcome = "all succeeded"
    except Exception as exc:
        outcome = str(exc).split(" \n ", 1)[0]
    after = None
    if job.get("then_call"):
        after = yield context.call_activity("say_hello", "after")
    return {"outcome": outcome, "after": after}


@orchestrators_bp.orchestration_trigger(context_name="context")
def caught_failure(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("always_fails", context.get_input())
    except Exception as exc:
        return {"error": str(exc)}
    return {"error": None}


@orchestrators_bp.orchestration_trigger(context_name="context")
def slow_call(context: df.DurableOrchestrationContext):
    try:
        return {"result": (yield context.call_activity("slow", context.get_input())), "error": None}
    except Exception as exc:
        return {"result": None, "error": str(exc).split(" \n ", 1)[0]}


@orchestrators_bp.orchestration_trigger(context_name="context")
def async_pair(context: df.DurableOrchestrationContext):
    job = context.get_input()
    tasks = [
        context.call_activity("record_work", {"run": job["run"], "item": i, "sleep": job["sleep"]})
        for i in (0, 1)
    ]
    tasks += [
        context.call_activity("sync_work", {"run": job["run"], "item": i, "sleep": job["sleep"]})
        for i in (2, 3)
    ]
    return (yield context.task_all(tasks))


# -- activities ---------------------------------------------------------------------------------
activities_bp = df.Blueprint()


@activities_bp.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello {name}!"


@activities_bp.activity_trigger(input_name="job")
def square(job: dict) -> int:
    if job.get("sleep"):
        time.sleep(job["sleep"])
    return job["i"] * job["i"]


@activities_bp.activity_trigger(input_name="job")
def flaky(job: dict) -> dict:
    attempt = record(job["key"]) + 1
    if job.get("sleep"):
        time.sleep(job["sleep"])
    if attempt <= job["fail_times"]:
        raise RuntimeError(f"transient failure {attempt} of {job['key']}")
    return {"key": job["key"], "attempts": attempt}


@activities_bp.activity_trigger(input_name="job")
def always_fails(job: dict) -> None:
    attempt = record(job["key"]) + 1
    raise RuntimeError(f"permanently broken ({job['key']}, attempt {attempt})")


@activities_bp.activity_trigger(input_name="job")
def check_subscription(job: dict) -> dict:
    record(job["key"])
    return {"ok": False, "reason": "subscription_not_found"}


@activities_bp.activity_trigger(input_name="job")
async def record_work(job: dict) -> int:
    key = f"{job['run']}-{job['item']}"
    record(key, phase="start")
    time.sleep(job["sleep"])
    record(key, phase="done")
    return job["item"] * 10


@activities_bp.activity_trigger(input_name="job")
def sync_work(job: dict) -> int:
    key = f"{job['run']}-{job['item']}"
    record(key, phase="start")
    time.sleep(job["sleep"])
    record(key, phase="done")
    return job["item"] * 10


@activities_bp.activity_trigger(input_name="seconds")
def slow(seconds: float) -> str:
    time.sleep(seconds)
    return "finished"


@activities_bp.activity_trigger(input_name="size")
def big_text(size: int) -> str:
    return "".join(chr(ord("a") + i % 26) for i in range(size))


@activities_bp.activity_trigger(input_name="ignored")
def crash_worker(ignored: object) -> None:
    os._exit(3)  # a worker process dying mid-activity (a native crash, the OOM killer...)


@activities_bp.activity_trigger(input_name="ignored")
def returns_set(ignored: object) -> object:
    return {1, 2, 3}


app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(client_bp)
app.register_functions(orchestrators_bp)
app.register_functions(activities_bp)
