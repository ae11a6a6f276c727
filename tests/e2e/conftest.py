"""End-to-end fixtures: the whole app on devhost, driven over real HTTP as a Logic App would.

- ``stack``: one :class:`~devhost.stack.DevStack` for the package (Azurite in memory, the HTTPS
  Azure stand-in serving the bundled sample tenant, the Functions host running
  ``function_app`` with its activities in threads), with short retry settings so a fault
  test takes seconds, not minutes. Package scope, not session: the stack's app settings live in
  ``os.environ`` until it stops, and the rest of the test session must not see them.
- ``api``: a :class:`~tests.e2e.support.ApiClient` that adds the function key, checks every
  answer it gets for secrets, and ``poll``s a report's ``Location`` the way Logic Apps does
  (following ``Location``, honouring ``Retry-After`` but capped small).
- ``new_subscriptions(n, per_subscription)``: fresh subscriptions added to the stand-in, so a
  test that injects faults never disturbs the sample subscriptions the other tests count on.
- Every test runs under a SIGALRM deadline (pytest-timeout is not installed): a report that
  never finishes fails its test instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devhost.sample_tenant import build_tenant

from .support import (
    E2E_SETTINGS,
    TEST_DEADLINE_SECONDS,
    ApiClient,
    started_stack,
    storage_snapshot,
    within,
)


@pytest.fixture(autouse=True)
def _deadline() -> Iterator[None]:
    with within(TEST_DEADLINE_SECONDS):
        yield


@pytest.fixture(scope="package")
def stack() -> Iterator[Any]:
    with started_stack(E2E_SETTINGS) as dev:  # activities in threads, as the Python worker runs them
        yield dev


@pytest.fixture(scope="package")
def sample_subscriptions(stack: Any) -> list[str]:
    """The bundled sample tenant's subscriptions (captured before any test adds its own)."""
    subs = list(stack.standin.subscription_ids)
    assert len(subs) == 4
    return subs


@pytest.fixture(scope="package")
def api(stack: Any, sample_subscriptions: list[str]) -> ApiClient:
    return ApiClient(stack)


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that fails halfway must not leave its faults behind for the next one."""
    yield
    if "stack" in request.fixturenames:
        request.getfixturevalue("stack").standin.clear_faults()


_seeds = itertools.count(1000)


@pytest.fixture
def new_subscriptions(stack: Any) -> Callable[..., list[dict[str, Any]]]:
    """``new_subscriptions(n, per_subscription)``: n fresh subscriptions served by the stand-in;
    returns their tenant entries (subscriptionId, displayName, recommendations)."""

    def make(n: int = 1, per_subscription: int = 30) -> list[dict[str, Any]]:
        tenant = build_tenant(n, per_subscription, seed=next(_seeds))
        known = {s.lower() for s in stack.standin.subscription_ids}
        for sub in tenant["subscriptions"]:
            assert sub["subscriptionId"].lower() not in known
            stack.standin.set_recommendations(
                sub["subscriptionId"], sub["recommendations"], sub["displayName"]
            )
        return tenant["subscriptions"]

    return make


@contextlib.contextmanager
def _unchanged(api: ApiClient, stack: Any, *, recommendations: bool) -> Iterator[None]:
    listed = [r["reportId"] for r in api.list_reports(limit=100).json()["reports"]]
    before = storage_snapshot(stack, recommendations=recommendations)
    yield
    assert [r["reportId"] for r in api.list_reports(limit=100).json()["reports"]] == listed
    after = storage_snapshot(stack, recommendations=recommendations)
    for name, keys in after.items():
        assert keys == before[name], f"{name} gained {sorted(keys - before[name])[:5]}"


@pytest.fixture
def nothing_stored(api: ApiClient, stack: Any) -> Iterator[None]:
    """Asserts, after the test, that the list endpoint and every table and the uploads
    container are as they were (the recommendations table included: a full scan)."""
    with _unchanged(api, stack, recommendations=True):
        yield


@pytest.fixture
def nothing_started(api: ApiClient, stack: Any) -> Iterator[None]:
    """Like ``nothing_stored`` without scanning the recommendations table: no report, no
    orchestration, no upload (recommendations are only ever written by an orchestration)."""
    with _unchanged(api, stack, recommendations=False):
        yield
