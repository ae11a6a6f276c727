"""Synthetic Advisor recommendations with a realistic spread, for benchmarks and visual checks.

About 25 recommendation types across the five categories, four subscriptions, resource
names of varied length, right-size and shutdown savings, and reservation recommendations that
repeat per lookback period (7/30/60 days) and term (P1Y/P3Y) as Advisor returns them.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.models import Recommendation

SUBSCRIPTIONS = {
    "0b1f6471-1bf0-4dda-aec3-cb9272f09590": "Contoso Production",
    "3c5e2f3a-8b7d-4f1e-9a6c-2d4b8e7f1a90": "Contoso Development & Test",
    "7d9a1b2c-4e5f-4a6b-8c7d-9e0f1a2b3c4d": "Fabrikam Shared Services",
    "a1b2c3d4-e5f6-4789-abcd-ef0123456789": "Fabrikam Data Platform",
}

# (category, impact, resource type, problem, solution, savings kind)
TYPES: list[tuple[str, str, str, str, str, str]] = [
    (
        "cost",
        "high",
        "Microsoft.Compute/virtualMachines",
        "Right-size or shutdown underutilized virtual machines",
        "Resize the virtual machine to a smaller SKU or shut it down",
        "rightsize",
    ),
    (
        "cost",
        "medium",
        "Microsoft.Compute/virtualMachines",
        "Buy virtual machine reserved instances to save money over pay-as-you-go costs",
        "Purchase a reservation for the recommended SKU and quantity",
        "reservation",
    ),
    (
        "cost",
        "medium",
        "Microsoft.Sql/servers/databases",
        "Consider SQL Database reserved capacity",
        "Purchase reserved capacity for the recommended vCores",
        "reservation",
    ),
    (
        "cost",
        "low",
        "Microsoft.Network/publicIPAddresses",
        "Delete Public IP addresses that are not associated with a resource",
        "Delete the unassociated public IP address",
        "flat",
    ),
    (
        "cost",
        "medium",
        "Microsoft.Compute/disks",
        "Unattached managed disks are incurring storage costs",
        "Delete or snapshot and delete the unattached disk",
        "flat",
    ),
    (
        "cost",
        "high",
        "Microsoft.Subscriptions/subscriptions",
        "Consider a compute savings plan to save over pay-as-you-go costs",
        "Purchase the recommended hourly commitment",
        "savingsplan",
    ),
    (
        "security",
        "high",
        "Microsoft.Storage/storageAccounts",
        "Storage accounts should restrict network access using virtual network rules",
        "Restrict network access to selected virtual networks and IP ranges",
        "",
    ),
    (
        "security",
        "high",
        "Microsoft.Compute/virtualMachines",
        "Machines should have vulnerability findings resolved",
        "Remediate the findings reported by the vulnerability assessment",
        "",
    ),
    (
        "security",
        "medium",
        "Microsoft.KeyVault/vaults",
        "Key vaults should have deletion protection enabled",
        "Enable soft delete and purge protection",
        "",
    ),
    (
        "security",
        "medium",
        "Microsoft.Web/sites",
        "App Service apps should only be accessible over HTTPS",
        "Turn on 'HTTPS only' in the TLS/SSL settings",
        "",
    ),
    (
        "security",
        "low",
        "Microsoft.Sql/servers",
        "SQL servers should have an Azure Active Directory administrator provisioned",
        "Provision an Azure AD administrator for the server",
        "",
    ),
    (
        "security",
        "high",
        "Microsoft.Subscriptions/subscriptions",
        "MFA should be enabled on accounts with owner permissions on your subscription",
        "Enable multi-factor authentication for owner accounts",
        "",
    ),
    (
        "reliability",
        "high",
        "Microsoft.Compute/virtualMachines",
        "Enable Backups on your virtual machines",
        "Configure Azure Backup for the virtual machine",
        "",
    ),
    (
        "reliability",
        "medium",
        "Microsoft.Storage/storageAccounts",
        "Use zone-redundant storage for critical data",
        "Change the replication to ZRS or GZRS",
        "",
    ),
    (
        "reliability",
        "medium",
        "Microsoft.Sql/servers/databases",
        "Enable zone redundancy for Azure SQL Database",
        "Configure the database as zone redundant",
        "",
    ),
    (
        "reliability",
        "low",
        "Microsoft.Network/virtualNetworkGateways",
        "Use a zone-redundant virtual network gateway SKU",
        "Move the gateway to an AZ SKU",
        "",
    ),
    (
        "reliability",
        "high",
        "Microsoft.Web/serverFarms",
        "Scale out your App Service plan to at least two instances",
        "Increase the instance count of the plan",
        "",
    ),
    (
        "performance",
        "medium",
        "Microsoft.Compute/virtualMachines",
        "Use Premium SSD managed disks for production workloads",
        "Convert the disks to Premium SSD",
        "",
    ),
    (
        "performance",
        "low",
        "Microsoft.Cache/Redis",
        "Improve your Cache and application performance when running with high server load",
        "Scale to a larger cache size or reduce server load",
        "",
    ),
    (
        "performance",
        "medium",
        "Microsoft.Sql/servers/databases",
        "Create the recommended indexes on your SQL database",
        "Apply the index recommendations from the query performance insight",
        "",
    ),
    (
        "performance",
        "low",
        "Microsoft.Web/sites",
        "Enable HTTP/2 on your App Service app",
        "Set the HTTP version to 2.0",
        "",
    ),
    (
        "operational_excellence",
        "low",
        "Microsoft.Resources/resourceGroups",
        "Ensure resources follow your tagging policy",
        "Apply the required tags",
        "",
    ),
    (
        "operational_excellence",
        "medium",
        "Microsoft.Network/networkWatchers",
        "Enable Network Watcher in every region you deploy to",
        "Create a Network Watcher in each region",
        "",
    ),
    (
        "operational_excellence",
        "low",
        "Microsoft.Compute/virtualMachines",
        "Upgrade to the latest version of the Azure Monitor agent",
        "Migrate from the Log Analytics agent to Azure Monitor Agent",
        "",
    ),
    (
        "operational_excellence",
        "medium",
        "Microsoft.Subscriptions/subscriptions",
        "Create an Azure service health alert",
        "Configure a service health alert for the subscription",
        "",
    ),
]
# Relative frequency of each type (larger numbers: more affected resources).
WEIGHTS = [12, 1, 1, 3, 5, 1, 9, 10, 4, 5, 3, 1, 9, 6, 3, 1, 3, 6, 2, 3, 3, 8, 2, 6, 1]

_PREFIXES = ["vm", "app", "sql", "st", "kv", "redis", "vnet", "pip", "disk", "plan"]
_ROLES = ["web", "api", "batch", "reporting", "etl", "frontend", "identity", "payments", "search", "ml"]
_ENVS = ["prod", "test", "dev", "uat", "shared"]
_SKUS = [
    ("Standard_D8s_v5", "Standard_D4s_v5"),
    ("Standard_E16s_v5", "Standard_E8s_v5"),
    ("Standard_D4s_v3", "Standard_D2s_v3"),
    ("Standard_F8s_v2", "Standard_F4s_v2"),
]
_REGIONS = ["westeurope", "northeurope", "uksouth", "eastus2"]


def _name(rng: random.Random, i: int) -> str:
    base = f"{rng.choice(_PREFIXES)}-{rng.choice(_ROLES)}-{rng.choice(_ENVS)}-{i:05d}"
    if rng.random() < 0.08:  # some long names, as real estates have
        base += "-" + "-".join(rng.choice(_ROLES) for _ in range(rng.randint(2, 5)))
    return base


def _recommendation_id(resource_id: str, rng: random.Random) -> str:
    guid = uuid.UUID(int=rng.getrandbits(128), version=4)
    return f"{resource_id}/providers/Microsoft.Advisor/recommendations/{guid}"


def make_recommendations(n: int, seed: int = 7, currency: str | None = "EUR") -> list[Recommendation]:
    """``n`` recommendations; reservation types contribute 6 variants (3 lookbacks x 2 terms)."""
    rng = random.Random(seed)
    type_ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in TYPES]
    subs = list(SUBSCRIPTIONS)
    now = datetime(2025, 3, 14, 6, 30, tzinfo=UTC)
    recs: list[Recommendation] = []
    i = 0
    while len(recs) < n:
        t = rng.choices(range(len(TYPES)), weights=WEIGHTS)[0]
        category, impact, rtype, problem, solution, kind = TYPES[t]
        sub = subs[i % len(subs)] if rng.random() < 0.7 else rng.choice(subs)
        sub_level = rtype == "Microsoft.Subscriptions/subscriptions"
        rg = "" if sub_level else f"rg-{rng.choice(_ROLES)}-{rng.choice(_ENVS)}-{rng.randint(1, 40):02d}"
        name = sub if sub_level else _name(rng, i)
        resource_id = f"/subscriptions/{sub}" + (
            "" if sub_level else f"/resourceGroups/{rg}/providers/{rtype}/{name}"
        )
        base: dict[str, Any] = dict(
            subscription_id=sub,
            subscription_name=SUBSCRIPTIONS[sub],
            category=category,
            impact=impact,
            recommendation_type_id=type_ids[t],
            problem=problem,
            solution=solution,
            resource_id=resource_id,
            resource_type=rtype,
            resource_name=name,
            resource_group=rg,
            last_updated=now - timedelta(hours=rng.randint(0, 24 * 20)),
            learn_more_link="https://aka.ms/azureadvisordashboard",
        )
        if kind in ("reservation", "savingsplan"):
            sku = rng.choice(_SKUS)[1]
            region = rng.choice(_REGIONS)
            monthly_base = Decimal(rng.randint(80, 2400))
            for lookback in ("7", "30", "60"):
                for term, factor in (("P1Y", Decimal("0.6")), ("P3Y", Decimal("1.0"))):
                    monthly = (monthly_base * factor * Decimal(int(lookback) + 40) / 70).quantize(
                        Decimal("0.01")
                    )
                    ext: dict[str, str] = {
                        "term": term,
                        "lookbackPeriod": lookback,
                        "region": region,
                        "savingsAmount": str(monthly),
                        "annualSavingsAmount": str(monthly * 12),
                    }
                    if kind == "reservation":
                        ext.update(
                            reservedResourceType="VirtualMachines", displaySKU=sku, qty=str(rng.randint(1, 8))
                        )
                    else:
                        ext.update(recommendationType="SavingsPlan", displaySKU=f"Compute savings plan {i}")
                    recs.append(
                        Recommendation(
                            recommendation_id=_recommendation_id(f"/subscriptions/{sub}", rng),
                            monthly_savings=monthly,
                            annual_savings=monthly * 12,
                            savings_currency=currency,
                            extended_properties=ext,
                            **{
                                **base,
                                "resource_id": f"/subscriptions/{sub}",
                                "resource_name": f"{sku} ({region})",
                                "resource_group": "",
                            },
                        )
                    )
        else:
            monthly = None
            ext = {}
            if kind == "rightsize":
                cur, target = rng.choice(_SKUS)
                monthly = Decimal(rng.randint(2000, 90000)) / 100
                ext = {
                    "currentSku": cur,
                    "targetSku": target,
                    "recommendationType": rng.choice(["SkuChange", "Shutdown"]),
                }
            elif kind == "flat":
                monthly = Decimal(rng.randint(300, 6000)) / 100
            recs.append(
                Recommendation(
                    recommendation_id=_recommendation_id(resource_id, rng),
                    monthly_savings=monthly,
                    annual_savings=None if monthly is None else monthly * 12,
                    savings_currency=currency if monthly is not None else None,
                    extended_properties=ext,
                    **base,
                )
            )
        i += 1
    return recs[:n]
