"""What the engine costs: a fan-out of 50 activities that sleep 0.2 s each on 2 workers (the
floor is 50 x 0.2 / 2 = 5 s), and a fan-out of 500 trivial activities. Prints seconds,
episodes and history events (``pytest -s`` shows them); the bounds are loose on purpose."""

from __future__ import annotations

import time

import pytest

from .conftest import ToyClient

pytestmark = pytest.mark.azurite


def _measure(toy: ToyClient, payload: dict) -> dict:
    started = time.perf_counter()
    instance_id = toy.start_id("fan_out", payload)
    status = toy.wait(instance_id, timeout=40)
    seconds = time.perf_counter() - started
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == [i * i for i in range(payload["n"])]
    inst = toy.host.engine.get(instance_id)
    return {
        "seconds": round(seconds, 2),
        "episodes": inst.episodes,
        "history_events": inst.history_count,
        "replay_seconds": round(inst.replay_seconds, 3),
    }


def test_fan_out_of_50_sleeping_activities_on_2_workers(toy: ToyClient, record_property) -> None:
    toy.host.wait_for_idle(10)
    figures = _measure(toy, {"n": 50, "sleep": 0.2})
    figures["overhead_seconds"] = round(figures["seconds"] - 5.0, 2)
    print(f"\nfan-out 50 x 0.2 s, 2 workers: {figures}")
    record_property("fan_out_50", figures)
    assert figures["overhead_seconds"] < 1.5
    assert figures["episodes"] <= 30


def test_fan_out_of_500_trivial_activities(toy: ToyClient, record_property) -> None:
    toy.host.wait_for_idle(10)
    figures = _measure(toy, {"n": 500})
    print(f"\nfan-out 500 trivial: {figures}")
    record_property("fan_out_500", figures)
    assert figures["seconds"] < 10
    assert figures["history_events"] >= 1003
