"""A large fan-out stays correct: 500 activities, every result in order, one TaskScheduled and
one completion each in the history. Speed is measured by ``make bench``, not asserted here
(timed tests flake on shared machines)."""

from __future__ import annotations

import pytest

from .conftest import ToyClient

pytestmark = pytest.mark.azurite


def test_fan_out_of_500_trivial_activities(toy: ToyClient) -> None:
    toy.host.wait_for_idle(10)
    instance_id = toy.start_id("fan_out", {"n": 500})
    status = toy.wait(instance_id, timeout=60)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == [i * i for i in range(500)]
    inst = toy.host.engine.get(instance_id)
    # ExecutionStarted + 500 TaskScheduled + 500 TaskCompleted + per-episode markers
    assert inst.history_count >= 1003
    # results are delivered in batches: far fewer episodes than completions
    assert inst.episodes < 500
