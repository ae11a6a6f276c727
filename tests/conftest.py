"""Shared fixtures: one Azurite per test session (in memory, free ports), stores bound to
fresh tables/containers per test, and sample recommendations.

A test that needs Azurite and cannot get it fails in CI (CI=true) and skips locally with the
reason, never silently.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from devhost.azurite import Azurite
from shared.models import Recommendation


def start_or_fail(server: Azurite) -> Azurite:
    """Start Azurite, or fail with the reason: `make test` installs it (npm ci), so a machine
    where it cannot start is a broken set-up, never a reason to skip the storage tiers."""
    try:
        return server.start()
    except RuntimeError as exc:
        pytest.fail(f"Azurite unavailable: {exc}")


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    server = start_or_fail(Azurite(in_memory=True))
    yield server
    server.stop()


@pytest.fixture
def unique_name() -> str:
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def table_store(azurite: Azurite, unique_name: str):
    from shared.table_store import TableStore

    return TableStore(
        azurite.connection_string,
        reports_table=unique_name + "reports",
        recommendations_table=unique_name + "recs",
    )


@pytest.fixture
def blob_store(azurite: Azurite, unique_name: str):
    from shared.blob_store import BlobStore

    return BlobStore.from_connection_string(azurite.connection_string, unique_name)


def make_recommendation(
    i: int,
    *,
    subscription: str = "00000000-0000-0000-0000-000000000001",
    category: str = "cost",
    currency: str | None = "USD",
    **overrides,
) -> Recommendation:
    rg = f"rg-{i % 7}"
    resource_id = (
        f"/subscriptions/{subscription}/resourceGroups/{rg}/providers/"
        f"Microsoft.Compute/virtualMachines/vm-{i:05d}"
    )
    values: dict[str, Any] = dict(
        recommendation_id=f"{resource_id}/providers/Microsoft.Advisor/recommendations/{uuid.UUID(int=i)}",
        subscription_id=subscription,
        category=category,
        impact=("high", "medium", "low")[i % 3],
        recommendation_type_id=str(uuid.UUID(int=1000 + i % 5)),
        problem=f"Right-size or shutdown underutilized virtual machines ({i % 5})",
        solution="Right-size or shutdown underutilized virtual machines",
        resource_id=resource_id,
        resource_type="Microsoft.Compute/virtualMachines",
        resource_name=f"vm-{i:05d}",
        resource_group=rg,
        monthly_savings=Decimal(i % 50) + Decimal("0.25") if category == "cost" else None,
        annual_savings=(Decimal(i % 50) + Decimal("0.25")) * 12 if category == "cost" else None,
        savings_currency=currency if category == "cost" else None,
        learn_more_link="https://aka.ms/aa_lowusagerec",
        extended_properties={"savingsAmount": str(i % 50), "currentSku": "Standard_D4s_v3"},
    )
    values.update(overrides)
    return Recommendation(**values)


@pytest.fixture
def recommendations() -> list[Recommendation]:
    return [make_recommendation(i) for i in range(250)]
