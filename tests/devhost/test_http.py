"""The devhost's HTTP surface: trigger routes and their auth levels, the admin API and timer
triggers, the Durable HTTP API (status URL codes, management URLs, listing, purge,
terminate) as the real ``DurableOrchestrationClient`` and plain HTTP callers use it."""

from __future__ import annotations

import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func
import pytest
import requests

from devhost.functions_host import FunctionsHost

from .conftest import KEY, MASTER_KEY, ROOT, SYSTEM_KEY, ToyClient, read_records

pytestmark = pytest.mark.azurite


def test_anonymous_routes_and_route_precedence(toy: ToyClient) -> None:
    hello = requests.get(f"{toy.url}/api/toy/hello/bob", timeout=10)
    assert hello.status_code == 200
    assert hello.json() == {"hello": "bob", "url": f"{toy.url}/api/toy/hello/bob"}
    assert requests.get(f"{toy.url}/api/toy/hello", params={"name": "q"}, timeout=10).json()["hello"] == "q"
    assert requests.get(f"{toy.url}/api/toy/items/42", timeout=10).text == "number 42"
    slug = requests.get(f"{toy.url}/api/toy/items/abc", timeout=10)
    assert (slug.text, slug.headers["X-Toy"]) == ("slug abc", "yes")


def test_function_level_routes_need_the_key(toy: ToyClient) -> None:
    start = f"{toy.url}/api/toy/start/hello_sequence"
    assert requests.post(start, json=["x"], timeout=10).status_code == 401
    assert requests.post(start, params={"code": "wrong"}, json=["x"], timeout=10).status_code == 401
    assert requests.post(start, headers={"x-functions-key": KEY}, json=["x"], timeout=10).status_code == 202
    assert requests.post(start, params={"code": KEY}, json=["x"], timeout=10).status_code == 202
    status_url = requests.post(start, params={"code": KEY}, json=["x"], timeout=10).headers["Location"]
    assert f"code={SYSTEM_KEY}" in status_url  # the management URLs carry the system key, as in Azure
    assert requests.get(status_url.replace(f"code={SYSTEM_KEY}", "code=nope"), timeout=10).status_code == 401


def test_unknown_routes_methods_and_failing_triggers(toy: ToyClient) -> None:
    assert requests.get(f"{toy.url}/api/nothing/here", timeout=10).status_code == 404
    assert (
        requests.get(f"{toy.url}/api/toy/start/hello_sequence", params={"code": KEY}, timeout=10).status_code
        == 404
    )
    assert requests.get(f"{toy.url}/elsewhere", timeout=10).status_code == 404
    boom = requests.get(f"{toy.url}/api/toy/boom", timeout=10)
    assert boom.status_code == 500
    assert "secret-value" not in boom.text and "Traceback" not in boom.text


def test_status_url_answers_202_then_200(toy: ToyClient) -> None:
    response = toy.start("timer_wait", {"seconds": 0.4})
    assert response.status_code == 202
    assert response.headers["Retry-After"] == "10"
    location = response.headers["Location"]
    assert location == response.json()["statusQueryGetUri"]
    running = requests.get(location, timeout=10)
    assert running.status_code == 202
    assert running.headers["Location"] == location
    assert running.headers["Retry-After"] == "5"
    assert running.json()["runtimeStatus"] in ("Pending", "Running")
    deadline = time.monotonic() + 10
    while (done := requests.get(location, timeout=10)).status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert done.status_code == 200
    body = done.json()
    assert set(body) >= {
        "name",
        "instanceId",
        "runtimeStatus",
        "input",
        "customStatus",
        "output",
        "createdTime",
        "lastUpdatedTime",
    }
    assert body["runtimeStatus"] == "Completed"
    assert body["createdTime"].endswith("Z") and len(body["createdTime"]) == 20


def test_failed_instance_is_200_unless_asked_for_500(toy: ToyClient, key: str) -> None:
    instance_id = toy.start_id("permanent_failure", {"key": key, "attempts": 1})
    assert toy.wait(instance_id)["runtimeStatus"] == "Failed"
    assert toy.status(instance_id).status_code == 200
    assert toy.status(instance_id, returnInternalServerErrorOnFailure="true").status_code == 500
    assert toy.status("no-such-instance").status_code == 404


def test_start_and_wait_through_the_client(toy: ToyClient) -> None:
    done = toy.start("hello_sequence", ["W"], wait=10000)
    assert done.status_code == 200
    assert done.json() == ["Hello W!"]
    still_running = toy.start("timer_wait", {"seconds": 2}, wait=200)
    assert still_running.status_code == 202
    assert "statusQueryGetUri" in still_running.json()


def test_public_http_api_start_history_and_paging(toy: ToyClient) -> None:
    binding = json.loads(toy.host.client_binding())
    create = binding["creationUrls"]["createNewInstancePostUri"]
    url = create.replace("{functionName}", "hello_sequence").replace("[/{instanceId}]", "")
    # The SDK's client posts the input JSON-encoded as a JSON string; a bare JSON array reaches
    # the orchestrator as a list, which DurableOrchestrationContext (it re-encodes dicts only)
    # cannot decode - the real extension behaves the same.
    bare = requests.post(url, json=["api"], timeout=10)
    assert bare.status_code == 202
    assert "the JSON object must be str" in toy.wait(bare.json()["id"])["output"]
    started = requests.post(url, json=json.dumps(["api"]), timeout=10)
    assert started.status_code == 202
    instance_id = started.json()["id"]
    toy.wait(instance_id)
    detail = toy.status(instance_id, showHistory="true", showHistoryOutput="true").json()
    kinds = [e["EventType"] for e in detail["historyEvents"]]
    assert kinds == ["ExecutionStarted", "TaskCompleted", "ExecutionCompleted"]
    assert detail["historyEvents"][1]["FunctionName"] == "say_hello"
    assert detail["historyEvents"][1]["Result"] == "Hello api!"
    instances = f"{toy.url}/runtime/webhooks/durabletask/instances"
    first = requests.get(instances, params={"code": SYSTEM_KEY, "top": "2"}, timeout=10)
    assert first.status_code == 200 and len(first.json()) == 2
    token = first.headers["x-ms-continuation-token"]
    second = requests.get(
        instances,
        params={"code": SYSTEM_KEY, "top": "2"},
        headers={"x-ms-continuation-token": token},
        timeout=10,
    )
    assert {i["instanceId"] for i in first.json()}.isdisjoint(i["instanceId"] for i in second.json())
    assert requests.get(instances, timeout=10).status_code == 401


def test_client_queries_terminate_and_purge(toy: ToyClient, toy_host: FunctionsHost) -> None:
    client = toy_host.client()
    since = datetime.now(UTC) - timedelta(seconds=1)
    done = toy.start_id("hello_sequence", ["p"])
    stuck = toy.start_id("stuck_forever")
    toy.wait(done)
    toy.wait_until(stuck, lambda s: s["runtimeStatus"] == "Running")
    running = toy_host.run(client.get_status_by(runtime_status=[df.OrchestrationRuntimeStatus.Running]))
    assert stuck in {s.instance_id for s in running}
    assert done not in {s.instance_id for s in running}
    recent = toy_host.run(client.get_status_by(created_time_from=since))
    assert {done, stuck} <= {s.instance_id for s in recent}
    assert len(toy_host.run(client.get_status_all())) >= 2
    toy_host.run(client.terminate(stuck, "no longer needed"))
    assert toy.wait(stuck)["runtimeStatus"] == "Terminated"
    with pytest.raises(Exception, match="is gone"):
        toy_host.run(client.raise_event(stuck, "never", 1))
    assert toy_host.run(client.purge_instance_history(done)).instances_deleted == 1
    assert not toy_host.run(client.get_status(done))
    assert toy_host.run(client.purge_instance_history("missing")).instances_deleted == 0
    purged = toy_host.run(
        client.purge_instance_history_by(
            created_time_from=since, runtime_status=[df.OrchestrationRuntimeStatus.Terminated]
        )
    )
    assert purged.instances_deleted >= 1
    assert toy.status(stuck).status_code == 404


def test_create_check_status_response_from_the_client(toy_host: FunctionsHost) -> None:
    client = toy_host.client()
    instance_id = toy_host.run(client.start_new("hello_sequence", None, ["c"]))
    request = (
        df.func.HttpRequest("POST", f"{toy_host.url}/api/anything", body=b"") if hasattr(df, "func") else None
    )
    request = func.HttpRequest("POST", f"{toy_host.url}/api/anything", body=b"")
    response = client.create_check_status_response(request, instance_id)
    assert response.status_code == 202
    links = json.loads(response.get_body())
    assert links["id"] == instance_id
    assert links["statusQueryGetUri"].startswith(
        f"{toy_host.url}/runtime/webhooks/durabletask/instances/{instance_id}"
    )
    assert f"code={SYSTEM_KEY}" in links["statusQueryGetUri"]
    assert toy_host.run(client.get_status(instance_id)).instance_id == instance_id


def test_admin_api_runs_timer_triggers(toy: ToyClient, toy_host: FunctionsHost) -> None:
    admin = f"{toy.url}/admin/functions/toy_timer"
    assert requests.post(admin, json={"input": ""}, timeout=10).status_code == 401
    for not_admin in (KEY, SYSTEM_KEY):
        assert requests.post(admin, params={"code": not_admin}, json={}, timeout=10).status_code == 401
    before = len(toy.records("toy_timer"))
    assert (
        requests.post(
            admin, headers={"x-functions-key": MASTER_KEY}, json={"input": ""}, timeout=10
        ).status_code
        == 202
    )
    deadline = time.monotonic() + 10
    while len(toy.records("toy_timer")) == before and time.monotonic() < deadline:
        time.sleep(0.02)
    fired = toy.records("toy_timer")[-1]
    assert fired["past_due"] is False
    # What the worker hands a timer function: azure-functions' TimerRequest decoded from the
    # host's TimerInfo JSON.
    assert fired["kind"] == "azure.functions.timer.TimerRequest"
    assert fired["schedule"] == {"AdjustForDST": True}
    assert fired["status"] == ["Last", "LastUpdated", "Next"]
    assert toy.wait(fired["instance_id"])["output"] == ["Hello timer!"]
    status = requests.get(f"{toy.url}/admin/host/status", params={"code": MASTER_KEY}, timeout=10)
    assert status.json()["state"] == "Running"
    assert (
        requests.post(
            f"{toy.url}/admin/functions/missing", params={"code": MASTER_KEY}, timeout=10
        ).status_code
        == 404
    )


def test_concurrent_requests(toy: ToyClient) -> None:
    def start(i: int) -> str:
        response = requests.post(
            f"{toy.url}/api/toy/start/hello_sequence", params={"code": KEY}, json=[f"n{i}"], timeout=30
        )
        assert response.status_code == 202, response.text
        return response.json()["id"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        ids = list(pool.map(start, range(32)))
        hellos = list(
            pool.map(lambda i: requests.get(f"{toy.url}/api/toy/hello/c{i}", timeout=30), range(32))
        )
    assert all(r.status_code == 200 for r in hellos)
    outputs = [toy.wait(instance_id)["output"] for instance_id in ids]
    assert outputs == [[f"Hello n{i}!"] for i in range(32)]


def test_timer_trigger_fires_on_its_schedule(devhost_azurite, record_dir, monkeypatch) -> None:
    monkeypatch.setenv(
        "TOY_TIMER_SCHEDULE", "* * * * * *"
    )  # every second, resolved from %TOY_TIMER_SCHEDULE%
    before = len(read_records(record_dir, "toy_timer"))
    host = FunctionsHost(
        "tests.devhost.toy_app",
        storage_connection=devhost_azurite.connection_string,
        port=0,
        task_hub=f"Cron{uuid.uuid4().hex[:8]}",
        host_key=KEY,
        app_root=ROOT,
    )
    host.start()
    try:
        toy = ToyClient(host, record_dir)
        deadline = time.monotonic() + 5
        while len(toy.records("toy_timer")) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        fired = toy.records("toy_timer")[before:]
        assert fired, "the timer trigger did not fire within 5 s"
        assert fired[0]["past_due"] is False
        assert os.environ["TOY_TIMER_SCHEDULE"] == "* * * * * *"
    finally:
        host.stop()


def test_instance_ids_with_reserved_characters(toy: ToyClient, toy_host: FunctionsHost) -> None:
    client = toy_host.client()
    instance_id = "report q1+x"
    assert toy_host.run(client.start_new("hello_sequence", instance_id, ["id"])) == instance_id
    links = client.create_http_management_payload(instance_id)
    deadline = time.monotonic() + 10
    while (response := requests.get(links["statusQueryGetUri"], timeout=10)).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert response.json()["instanceId"] == instance_id
    # The SDK does not encode ids in its URLs ("a#b" would lose "#b"); encoded, the host refuses it.
    refused = requests.post(
        f"{toy.url}/runtime/webhooks/durabletask/orchestrators/hello_sequence/bad%23id",
        params={"code": SYSTEM_KEY},
        json=None,
        timeout=10,
    )
    assert refused.status_code == 400
    assert "must not contain" in refused.json()["ExceptionMessage"]


def test_keys_by_role(toy: ToyClient, toy_host: FunctionsHost) -> None:
    """Function keys open their own function, the host key every function-level route, the
    system key only the Durable webhooks, the master key everything (azure-functions-host
    AuthorizationOptionsExtensions / AuthUtility)."""
    start = f"{toy.url}/api/toy/start/hello_sequence"
    start_key = toy_host.function_keys["start_toy"]
    other_key = toy_host.function_keys["toy_status"]
    assert start_key != other_key and KEY not in (start_key, other_key)

    def code(url: str, key: str, method: str = "POST") -> int:
        return requests.request(method, url, params={"code": key}, json=["k"], timeout=10).status_code

    assert code(start, start_key) == 202  # its own function key
    assert code(start, other_key) == 401  # another function's key
    assert code(start, KEY) == 202  # the host key: any function
    assert code(start, MASTER_KEY) == 202  # the master key: everything
    assert code(start, SYSTEM_KEY) == 401  # the system key is for the webhooks only

    instance_id = toy.start_id("hello_sequence", ["keys"])
    webhook = f"{toy.url}/runtime/webhooks/durabletask/instances/{instance_id}"
    assert code(webhook, start_key, "GET") == 401  # a function key on a webhook URL
    assert code(webhook, KEY, "GET") == 401  # the host key neither
    assert code(webhook, SYSTEM_KEY, "GET") in (200, 202)
    assert code(webhook, MASTER_KEY, "GET") in (200, 202)
    terminate = f"{webhook}/terminate"
    assert code(terminate, KEY) == 401 and code(terminate, start_key) == 401

    admin = f"{toy.url}/admin/host/status"
    assert [code(admin, k, "GET") for k in (start_key, KEY, SYSTEM_KEY, MASTER_KEY)] == [401, 401, 401, 200]

    # The client's management URLs carry the system key, not a function or host key.
    links = toy_host.client().create_http_management_payload(instance_id)
    assert f"code={SYSTEM_KEY}" in links["statusQueryGetUri"]
    assert requests.get(links["statusQueryGetUri"], timeout=10).status_code in (200, 202)
    binding = json.loads(toy_host.client_binding())
    assert binding["requiredQueryStringParameters"] == f"code={SYSTEM_KEY}"


def test_purge_refuses_an_orchestration_that_has_not_ended(toy: ToyClient, toy_host: FunctionsHost) -> None:
    """As HttpApiHandler.HandleDeleteHistoryByIdRequestAsync: 412 while the instance runs (the
    client raises), 404 for an unknown one (the client reads 0), 200 with one purged once it
    has ended; purging one instance leaves others that share its id's prefix alone."""
    client = toy_host.client()
    stem = f"purge-{uuid.uuid4().hex[:8]}"
    stuck = toy.start_id("stuck_forever", None, f"{stem}")
    done = toy.start_id("hello_sequence", ["p"], f"{stem}:child")
    toy.wait(done)
    toy.wait_until(stuck, lambda s: s["runtimeStatus"] == "Running")
    url = f"{toy.url}/runtime/webhooks/durabletask/instances/{stuck}"
    refused = requests.delete(url, params={"code": SYSTEM_KEY}, timeout=10)
    assert refused.status_code == 412
    assert "Only orchestrations in a terminal state can be purged" in refused.json()
    with pytest.raises(Exception, match="412"):
        toy_host.run(client.purge_instance_history(stuck))
    assert toy.status(stuck).status_code == 202  # still there, still running
    listed = toy_host.run(client.get_status_by(instance_id_prefix=f"{stem}:"))
    assert [s.instance_id for s in listed] == [done]
    assert toy_host.run(client.purge_instance_history(done)).instances_deleted == 1
    assert requests.delete(f"{url}:child", params={"code": SYSTEM_KEY}, timeout=10).status_code == 404
    assert toy_host.run(client.purge_instance_history(done)).instances_deleted == 0
    toy_host.run(client.terminate(stuck, "done waiting"))
    assert toy.wait(stuck)["runtimeStatus"] == "Terminated"
    assert toy_host.run(client.purge_instance_history(stuck)).instances_deleted == 1
    assert toy.status(stuck).status_code == 404
