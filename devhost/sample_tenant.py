"""A deterministic sample Azure tenant: subscriptions full of realistic Advisor recommendations.

``build_tenant()`` returns the data the HTTPS stand-in (:mod:`devhost.azure_standin`) serves:
``{"subscriptions": [{"subscriptionId", "displayName", "recommendations": [...]}]}``, where each
recommendation is an ARM object exactly as ``GET .../providers/Microsoft.Advisor/recommendations``
returns it (api-version 2020-01-01): ``id``, ``name``, ``type`` and ``properties`` with category,
impact, impactedField/impactedValue, lastUpdated (7 fractional digits), recommendationTypeId,
shortDescription, extendedProperties (a map of strings), resourceMetadata, learnMoreLink and
potentialBenefits.

What makes the data awkward on purpose, because real Advisor data is:

- all five categories and all three impacts; a catalogue of recommendation types with fixed
  (made-up) recommendationTypeId GUIDs, the same problem/solution texts for every occurrence;
- resource-level ids (``/subscriptions/{sub}/resourceGroups/{rg}/providers/{type}/{name}/providers/
  Microsoft.Advisor/recommendations/{guid}``) and subscription-level ids, resource groups whose
  case varies (``RG-Legacy-Apps``);
- cost recommendations whose numbers are strings (``savingsAmount`` is monthly,
  ``annualSavingsAmount`` yearly), USD for most subscriptions, EUR for one, and a few with no
  ``savingsCurrency`` at all;
- reservation recommendations that repeat once per lookback period (7/30/60 days) and term
  (P1Y/P3Y), so a plain sum of savings overstates them;
- a couple of texts with ``<``, ``&`` and quotes, which a report must escape.

The same seed always gives the same tenant, so tests can rely on counts.
``python -m devhost.sample_tenant --out FILE --subscriptions N --per-subscription M`` writes it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SUBSCRIPTION_NAMES = (
    "Contoso Production",
    "Contoso Development",
    "Fabrikam Shared Services",
    "Fabrikam EU (EUR billing)",
    "Northwind Traders Retail",
    "Woodgrove Bank Analytics",
    "Tailspin Toys Sandbox",
    "Adventure Works Data Platform",
    "Litware Dev/Test",
    "Wide World Importers ERP",
)

# Resource groups a subscription picks from; mixed case on purpose (ARM treats it as equal).
RESOURCE_GROUPS = (
    "rg-web-prod-weu",
    "rg-data-prod-weu",
    "rg-shared-network",
    "rg-aks-prod",
    "MC_rg-aks-prod_aks-prod_westeurope",
    "rg-sap-prod-neu",
    "RG-Legacy-Apps",
    "rg-monitoring",
    "rg-identity",
    "DefaultResourceGroup-WEU",
    "cloud-shell-storage-westeurope",
    "rg-backup-vaults",
)

REGIONS = ("westeurope", "northeurope", "eastus", "eastus2", "uksouth", "swedencentral")

VM_SIZES = (
    "Standard_D2s_v3",
    "Standard_D4s_v3",
    "Standard_D8s_v3",
    "Standard_E4s_v5",
    "Standard_E8s_v5",
    "Standard_F4s_v2",
    "Standard_B2ms",
    "Standard_DS3_v2",
)


@dataclass(frozen=True)
class VmSize:
    """A VM size as the price list has it: vCPUs, memory (GiB), pay-as-you-go USD per month."""

    vcpus: int
    memory_gib: float
    usd_month: float


# Linux pay-as-you-go list prices (USD, 730 hours) of the sizes the sample uses, rounded.
VM_PRICES: dict[str, VmSize] = {
    "Standard_B1ms": VmSize(1, 2, 15.18),
    "Standard_B2s": VmSize(2, 4, 30.37),
    "Standard_B2ms": VmSize(2, 8, 60.74),
    "Standard_D2s_v3": VmSize(2, 8, 70.08),
    "Standard_D4s_v3": VmSize(4, 16, 140.16),
    "Standard_D8s_v3": VmSize(8, 32, 280.32),
    "Standard_E2s_v5": VmSize(2, 16, 91.98),
    "Standard_E4s_v5": VmSize(4, 32, 183.96),
    "Standard_E8s_v5": VmSize(8, 64, 367.92),
    "Standard_F2s_v2": VmSize(2, 4, 61.69),
    "Standard_F4s_v2": VmSize(4, 8, 123.37),
    "Standard_DS2_v2": VmSize(2, 7, 106.94),
    "Standard_DS3_v2": VmSize(4, 14, 213.89),
}

# Where Advisor's right-size goes from each size: down, to fewer vCPUs and less memory.
RIGHT_SIZE_TARGETS: dict[str, tuple[str, ...]] = {
    "Standard_B2ms": ("Standard_B2s", "Standard_B1ms"),
    "Standard_D2s_v3": ("Standard_B2s", "Standard_B1ms"),
    "Standard_D4s_v3": ("Standard_D2s_v3",),
    "Standard_D8s_v3": ("Standard_D4s_v3", "Standard_D2s_v3"),
    "Standard_E4s_v5": ("Standard_E2s_v5",),
    "Standard_E8s_v5": ("Standard_E4s_v5", "Standard_E2s_v5"),
    "Standard_F4s_v2": ("Standard_F2s_v2",),
    "Standard_DS3_v2": ("Standard_DS2_v2",),
}

# Reservation discounts over pay-as-you-go by term (VMs; Cosmos DB reserved capacity is less).
RESERVATION_DISCOUNT = {"VirtualMachines": {"P1Y": 0.38, "P3Y": 0.60}, "CosmosDb": {"P1Y": 0.20, "P3Y": 0.30}}
COSMOS_UNIT_USD_MONTH = 5.84  # 100 RU/s provisioned throughput, single region
# Savings plan for compute: savings per unit of hourly commitment (discount d: d / (1 - d)).
SAVINGS_PLAN_FACTOR = {"P1Y": 0.18, "P3Y": 0.43}
# Monthly list prices of what idle-resource recommendations name (disks per 128 GiB).
IDLE_PRICES_USD = {
    "VpnGw1": 138.70,
    "VpnGw2": 357.70,
    "ErGw1AZ": 306.60,
    "Premium_LRS": 19.71,
    "StandardSSD_LRS": 9.60,
    "Standard_LRS": 5.89,
}
# What one US dollar is in each billing currency the samples use (rounded, for plausible figures).
USD_RATES = {
    "USD": 1.0,
    "EUR": 0.92,
    "GBP": 0.79,
    "PLN": 3.98,
    "CZK": 23.2,
    "JPY": 151.0,
    "CNY": 7.24,
    "KRW": 1365.0,
}
# Currencies without minor units in Advisor's figures.
WHOLE_CURRENCIES = frozenset({"JPY", "KRW"})

# Advisor's lastUpdated values cluster around the last refresh; a fixed anchor keeps output stable.
_ANCHOR = datetime(2025, 6, 2, 4, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class RecommendationType:
    """One entry of the catalogue: what Advisor says about one kind of problem."""

    type_id: str
    category: str
    impact: str  # High | Medium | Low
    problem: str
    solution: str
    impacted_field: str  # resource type, e.g. Microsoft.Compute/virtualMachines
    learn_more_link: str
    potential_benefits: str = ""
    scope: str = "resource"  # resource | subscription
    kind: str = "plain"  # plain | vm_rightsize | reservation | savings_plan | idle_resource
    weight: int = 3
    extra: dict[str, Any] = field(default_factory=dict)


CATALOGUE: tuple[RecommendationType, ...] = (
    # --- HighAvailability ("Reliability" in the portal) -------------------------------------
    RecommendationType(
        "066a047a-9ace-45f4-ac50-6325840a6b00",
        "HighAvailability",
        "High",
        "Use Availability zones for better resiliency and availability",
        "Use Availability zones for better resiliency and availability",
        "Microsoft.Compute/virtualMachines",
        "https://learn.microsoft.com/azure/reliability/availability-zones-overview",
        "Usage of zonal VMs protect your apps from zonal outage in any other zones",
        weight=5,
    ),
    RecommendationType(
        "0e9b7b6e-7c1f-4d5f-9a2f-1c6c7d4e1a21",
        "HighAvailability",
        "Medium",
        "Enable soft delete for your Azure Blob Storage",
        "Enable soft delete for your Azure Blob Storage",
        "Microsoft.Storage/storageAccounts",
        "https://learn.microsoft.com/azure/storage/blobs/soft-delete-blob-overview",
        "Save and recover your data when blobs or blob snapshots are accidentally overwritten or deleted",
    ),
    RecommendationType(
        "3b3a9b1c-7e2d-4b8f-8b6a-52d1f0c9e4a7",
        "HighAvailability",
        "High",
        "Enable Azure Backup for SQL on your virtual machines",
        "Enable backups for SQL databases on your virtual machines using Azure backup and realize the "
        "benefits of zero-infrastructure backup, point-in-time restore, and central management with SQL AG "
        "integration.",
        "Microsoft.SqlVirtualMachine/sqlVirtualMachines",
        "https://learn.microsoft.com/azure/backup/backup-azure-sql-database",
        "Protection of SQL databases running on virtual machines",
    ),
    RecommendationType(
        "651c7925-17a3-42e5-85cd-73bd095cf27f",
        "HighAvailability",
        "Medium",
        "Enable Backups on your Virtual Machines",
        "Enable Backups on your Virtual Machines",
        "Microsoft.Compute/virtualMachines",
        "https://learn.microsoft.com/azure/backup/backup-azure-vms-first-look-arm",
        "Protect your VMs against ransomware & accidental deletion",  # '&' must be escaped in HTML
        weight=5,
    ),
    RecommendationType(
        "f8a0b7c3-2d4e-4f6a-9b1c-3e5d7f9a1b2c",
        "HighAvailability",
        "High",
        "Use <b>managed disks</b> to improve data reliability",  # markup in data, must be escaped
        "Migrate the virtual machines in your availability set to managed disks",
        "Microsoft.Compute/availabilitySets",
        "https://learn.microsoft.com/azure/virtual-machines/managed-disks-overview",
        "Managed disks are placed in separate storage scale units, so a storage failure hits one VM only",
        weight=2,
    ),
    RecommendationType(
        "6a2b1c9d-8e7f-4a3b-b5c6-d7e8f9a0b1c2",
        "HighAvailability",
        "Medium",
        "Ensure Application Gateway deployment uses at least two instances",
        "Deploy your Application Gateway with a minimum of two instances",
        "Microsoft.Network/applicationGateways",
        "https://learn.microsoft.com/azure/application-gateway/application-gateway-autoscaling-zone-redundant",
        "Resiliency against the loss of a single gateway instance",
        weight=2,
    ),
    # --- Security -------------------------------------------------------------------------------
    RecommendationType(
        "4f20e3b6-1a2c-4d0e-9b8f-7c6d5e4f3a2b",
        "Security",
        "High",
        "Subscriptions should have a contact email address for security issues",
        "Set a security contact email address in Microsoft Defender for Cloud",
        "Microsoft.Subscriptions/subscriptions",
        "https://learn.microsoft.com/azure/defender-for-cloud/configure-email-notifications",
        "Security alerts reach someone who can act on them",
        scope="subscription",
        weight=1,
    ),
    RecommendationType(
        "c8b5d1e2-3f4a-4b6c-8d9e-0f1a2b3c4d5e",
        "Security",
        "High",
        "Accounts with owner permissions on Azure resources should be MFA enabled",
        "Enable multi-factor authentication for accounts with owner permissions",
        "Microsoft.Subscriptions/subscriptions",
        "https://learn.microsoft.com/azure/defender-for-cloud/recommendations-reference-identity-access",
        "",
        scope="subscription",
        weight=1,
    ),
    RecommendationType(
        "ffff0522-1e88-47fc-8382-2a80ba848f5d",
        "Security",
        "High",
        "Machines should have a vulnerability assessment solution",
        "Enable the integrated vulnerability assessment solution for your machines",
        "Microsoft.Compute/virtualMachines",
        "https://learn.microsoft.com/azure/defender-for-cloud/deploy-vulnerability-assessment-vm",
        "",
        weight=5,
    ),
    RecommendationType(
        "2a1b3c4d-5e6f-4708-9a1b-2c3d4e5f6a7b",
        "Security",
        "Medium",
        "Storage accounts should restrict network access using virtual network rules",
        "Restrict network access to your storage accounts with virtual network rules",
        "Microsoft.Storage/storageAccounts",
        "https://learn.microsoft.com/azure/storage/common/storage-network-security",
        "",
        weight=4,
    ),
    RecommendationType(
        "b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e",
        "Security",
        "Low",
        "Key Vault secrets should have an expiration date",
        "Set an expiration date on the secrets in your key vault",
        "Microsoft.KeyVault/vaults",
        "https://learn.microsoft.com/azure/key-vault/secrets/about-secrets",
        "",
        weight=4,
    ),
    RecommendationType(
        "d3e4f5a6-b7c8-4d9e-a0f1-b2c3d4e5f6a7",
        "Security",
        "High",
        "Management ports of virtual machines should be protected with just-in-time network access control",
        "Enable just-in-time VM access",
        "Microsoft.Compute/virtualMachines",
        "https://learn.microsoft.com/azure/defender-for-cloud/just-in-time-access-usage",
        "",
        weight=3,
    ),
    RecommendationType(
        "e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9",
        "Security",
        "Medium",
        "SQL servers should have a Microsoft Entra administrator provisioned",
        "Provision a Microsoft Entra administrator for your SQL server",
        "Microsoft.Sql/servers",
        "https://learn.microsoft.com/azure/azure-sql/database/authentication-aad-configure",
        "",
        weight=2,
    ),
    # --- Performance -------------------------------------------------------------------------
    RecommendationType(
        "8b9c0d1e-2f3a-4b4c-9d5e-6f7a8b9c0d1e",
        "Performance",
        "Medium",
        "Enable Accelerated Networking to improve network performance and latency",
        "Enable Accelerated Networking on the network interfaces of your virtual machine",
        "Microsoft.Compute/virtualMachines",
        "https://learn.microsoft.com/azure/virtual-network/accelerated-networking-overview",
        "Lower latency, reduced jitter and lower CPU utilization",
        weight=3,
    ),
    RecommendationType(
        "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
        "Performance",
        "High",
        "Configure your Azure Cosmos DB applications to use Direct connectivity in the SDK",
        "Configure your Azure Cosmos DB applications to use Direct connectivity in the SDK",
        "Microsoft.DocumentDB/databaseAccounts",
        "https://learn.microsoft.com/azure/cosmos-db/nosql/performance-tips",
        "Improved latency and throughput for point reads and writes",
        weight=2,
    ),
    RecommendationType(
        "9d0e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a",
        "Performance",
        "Medium",
        'Configure "Always On" for your App Service apps',  # quotes must be escaped in attributes
        "Turn on Always On so the app is not unloaded after 20 minutes without traffic",
        "Microsoft.Web/sites",
        "https://learn.microsoft.com/azure/app-service/configure-common",
        "Avoid cold starts after idle periods",
        weight=2,
    ),
    RecommendationType(
        "7e8f9a0b-1c2d-4e3f-a4b5-c6d7e8f9a0b1",
        "Performance",
        "Low",
        "Improve your SQL database performance with index recommendations",
        "Create or drop the indexes that Database Advisor recommends",
        "Microsoft.Sql/servers/databases",
        "https://learn.microsoft.com/azure/azure-sql/database/database-advisor-implement-performance-recommendations",
        "Faster queries and lower DTU/vCore consumption",
        weight=3,
    ),
    # --- OperationalExcellence ---------------------------------------------------------------
    RecommendationType(
        "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d",
        "OperationalExcellence",
        "Medium",
        "Upgrade to the latest version of the Azure Monitor agent",
        "Upgrade the Azure Monitor agent extension on your virtual machines to the latest version",
        "Microsoft.Compute/virtualMachines",
        "https://learn.microsoft.com/azure/azure-monitor/agents/azure-monitor-agent-manage",
        "Security fixes and new data collection features",
        weight=4,
    ),
    RecommendationType(
        "0b1c2d3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e",
        "OperationalExcellence",
        "Low",
        "Create an Azure Service Health alert",
        "Create Azure Service Health alerts to be notified when Azure issues affect you",
        "Microsoft.Subscriptions/subscriptions",
        "https://learn.microsoft.com/azure/service-health/alerts-activity-log-service-notifications-portal",
        "Get notified when Azure service issues, planned maintenance or health advisories affect you",
        scope="subscription",
        weight=1,
    ),
    RecommendationType(
        "5f6a7b8c-9d0e-4f1a-b2c3-d4e5f6a7b8c9",
        "OperationalExcellence",
        "High",
        "Upgrade your AKS cluster to a supported Kubernetes version",
        "Upgrade the cluster to a Kubernetes version that is in support",
        "Microsoft.ContainerService/managedClusters",
        "https://learn.microsoft.com/azure/aks/supported-kubernetes-versions",
        "Security patches and support from Microsoft",
        weight=2,
    ),
    RecommendationType(
        "6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e",
        "OperationalExcellence",
        "Low",
        "Repair your log alert rule",
        "Fix the query of the log alert rule; it has failed for more than a week",
        "Microsoft.Insights/scheduledQueryRules",
        "https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-troubleshoot-log",
        "Alerts that fire when they should",
        weight=3,
    ),
    # --- Cost ------------------------------------------------------------------------------------
    RecommendationType(
        "e10b1381-5f0a-47ff-8c7b-37bd13d7c974",
        "Cost",
        "Medium",
        "Right-size or shutdown underutilized virtual machines",
        "Right-size or shutdown underutilized virtual machines",
        "Microsoft.Compute/virtualMachines",
        "https://aka.ms/aa_lowusagerec_learnmore",
        "Save on compute: VMs with CPU < 5% and network < 2% for 7 days can be shut down",
        kind="vm_rightsize",
        weight=6,
    ),
    RecommendationType(
        "84b1a508-fc21-49da-979e-96894f1665df",
        "Cost",
        "High",
        "Buy reserved virtual machine instances to save money over pay-as-you-go costs",
        "Buy reserved virtual machine instances to save money over pay-as-you-go costs",
        "Microsoft.Subscriptions/subscriptions",
        "https://aka.ms/reservedinstances",
        "Up to 72% savings over pay-as-you-go prices",
        scope="subscription",
        kind="reservation",
        weight=1,
        extra={"reservedResourceType": "VirtualMachines", "skus": VM_SIZES},
    ),
    RecommendationType(
        "8f4e5b6a-7c8d-4e9f-a0b1-c2d3e4f5a6b7",
        "Cost",
        "Medium",
        "Consider Cosmos DB reserved capacity to save over your pay-as-you-go costs",
        "Consider Cosmos DB reserved capacity to save over your pay-as-you-go costs",
        "Microsoft.Subscriptions/subscriptions",
        "https://aka.ms/rirecommendations",
        "Up to 65% savings over pay-as-you-go prices",
        scope="subscription",
        kind="reservation",
        weight=1,
        extra={"reservedResourceType": "CosmosDb", "skus": ("Cosmos DB RU/s 100",)},
    ),
    RecommendationType(
        "4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f",
        "Cost",
        "High",
        "Buy an Azure savings plan for compute to save money over pay-as-you-go costs",
        "Buy an Azure savings plan for compute",
        "Microsoft.Subscriptions/subscriptions",
        "https://aka.ms/savingsplan-compute",
        "Up to 65% savings over pay-as-you-go prices",
        scope="subscription",
        kind="savings_plan",
        weight=1,
    ),
    RecommendationType(
        "48eda464-1485-4dcf-a674-d0905df5054a",
        "Cost",
        "Low",
        "Delete or reconfigure idle virtual network gateways",
        "Delete the gateway or reconfigure it; it has had no connections for 90 days",
        "Microsoft.Network/virtualNetworkGateways",
        "https://aka.ms/aa_idlevpnrec_learnmore",
        "Stop paying for gateways nobody uses",
        kind="idle_resource",
        weight=1,
        extra={"skus": ("VpnGw1", "VpnGw2", "ErGw1AZ")},
    ),
    RecommendationType(
        "b6c7d8e9-f0a1-4b2c-8d3e-4f5a6b7c8d90",
        "Cost",
        "Medium",
        "You have disks that have not been attached to a VM for more than 30 days",
        "Delete or downgrade the unattached disks",
        "Microsoft.Compute/disks",
        "https://aka.ms/unattacheddisks",
        "Stop paying for storage nobody uses",
        kind="idle_resource",
        weight=2,
        extra={"skus": ("Premium_LRS", "StandardSSD_LRS", "Standard_LRS")},
    ),
)

CATEGORIES = ("HighAvailability", "Security", "Performance", "Cost", "OperationalExcellence")

# Resource naming per type: prefix and whether the name must be lower-case alphanumerics.
_NAME_PATTERNS: dict[str, tuple[str, bool]] = {
    "Microsoft.Compute/virtualMachines": ("vm-", False),
    "Microsoft.SqlVirtualMachine/sqlVirtualMachines": ("vm-sql-", False),
    "Microsoft.Compute/availabilitySets": ("avset-", False),
    "Microsoft.Compute/disks": ("disk-", False),
    "Microsoft.Storage/storageAccounts": ("st", True),
    "Microsoft.Network/applicationGateways": ("agw-", False),
    "Microsoft.Network/virtualNetworkGateways": ("vgw-", False),
    "Microsoft.KeyVault/vaults": ("kv-", False),
    "Microsoft.Sql/servers": ("sql-", False),
    "Microsoft.Sql/servers/databases": ("sql-", False),
    "Microsoft.DocumentDB/databaseAccounts": ("cosmos-", False),
    "Microsoft.Web/sites": ("app-", False),
    "Microsoft.ContainerService/managedClusters": ("aks-", False),
    "Microsoft.Insights/scheduledQueryRules": ("alert-", False),
}
_WORKLOADS = ("web", "api", "erp", "crm", "etl", "bi", "sap", "shop", "portal", "batch", "ml", "iot")


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _timestamp(rng: random.Random) -> str:
    """lastUpdated as Advisor writes it: 7 fractional digits and a Z."""
    moment = _ANCHOR - timedelta(seconds=rng.randint(0, 21 * 24 * 3600))
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{rng.randint(0, 9_999_999):07d}Z"


# Resource types whose names may hold any letters (Azure's naming rules), where a customer
# writing in its own script uses it.
_LOCAL_NAME_TYPES = frozenset({"Microsoft.Insights/scheduledQueryRules"})


def _resource_name(rng: random.Random, resource_type: str, sub: _Subscription) -> str:
    prefix, compact = _NAME_PATTERNS.get(resource_type, ("res-", False))
    if sub.local_names and resource_type in _LOCAL_NAME_TYPES:
        return f"{prefix}{rng.choice(sub.local_names)}-{rng.randint(1, 40):02d}"
    workload = rng.choice(sub.workloads or _WORKLOADS)
    number = rng.randint(1, 40)
    if compact:
        return f"{prefix}{sub.env}{workload}{number:03d}"
    return f"{prefix}{workload}-{sub.env}-{number:02d}"


def _money(value: float, currency: str = "USD") -> str:
    return f"{value:.0f}" if currency in WHOLE_CURRENCIES else f"{value:.2f}"


def _amounts(monthly: float, currency: str) -> dict[str, str]:
    """savingsAmount (monthly) and annualSavingsAmount as Advisor writes them."""
    return {"savingsAmount": _money(monthly, currency), "annualSavingsAmount": f"{monthly * 12:.0f}"}


@dataclass
class _Subscription:
    subscription_id: str
    display_name: str
    env: str
    currency: str
    resource_groups: tuple[str, ...]
    tenant_id: str = ""
    workloads: tuple[str, ...] = ()  # words resource names are made of (default: _WORKLOADS)
    local_names: tuple[str, ...] = ()  # non-ASCII names for the resource types that allow them

    @property
    def rate(self) -> float:
        return USD_RATES[self.currency]


def _recommendation(
    rng: random.Random,
    sub: _Subscription,
    rtype: RecommendationType,
    *,
    resource_id: str | None = None,
    extended: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One ARM recommendation object, resource-level or subscription-level."""
    sub_scope = f"/subscriptions/{sub.subscription_id}"
    name = _guid(rng)
    if rtype.scope == "subscription":
        resource_id = sub_scope
        impacted_value = sub.subscription_id
    else:
        if resource_id is None:
            rg = rng.choice(sub.resource_groups)
            resource_name = _resource_name(rng, rtype.impacted_field, sub)
            if rtype.impacted_field == "Microsoft.Sql/servers/databases":
                server = _resource_name(rng, "Microsoft.Sql/servers", sub)
                resource_name = f"{server}/databases/sqldb-{rng.choice(_WORKLOADS)}"
                resource_id = (
                    f"{sub_scope}/resourceGroups/{rg}/providers/Microsoft.Sql/servers/{resource_name}"
                )
            else:
                resource_id = (
                    f"{sub_scope}/resourceGroups/{rg}/providers/{rtype.impacted_field}/{resource_name}"
                )
        impacted_value = resource_id.rsplit("/", 1)[-1]
    metadata: dict[str, Any] = {"resourceId": resource_id}
    if rtype.category == "Security":
        # Defender for Cloud assessments carry where they came from.
        metadata["source"] = f"{resource_id}/providers/Microsoft.Security/assessments/{rtype.type_id}"
    properties: dict[str, Any] = {
        "category": rtype.category,
        "impact": rtype.impact,
        "impactedField": rtype.impacted_field,
        "impactedValue": impacted_value,
        "lastUpdated": _timestamp(rng),
        "recommendationTypeId": rtype.type_id,
        "shortDescription": {"problem": rtype.problem, "solution": rtype.solution},
        "extendedProperties": dict(extended or {}),
        "resourceMetadata": metadata,
        "learnMoreLink": rtype.learn_more_link,
    }
    if rtype.potential_benefits:
        properties["potentialBenefits"] = rtype.potential_benefits
    return {
        "id": f"{resource_id}/providers/Microsoft.Advisor/recommendations/{name}",
        "name": name,
        "type": "Microsoft.Advisor/recommendations",
        "properties": properties,
    }


def _with_currency(rng: random.Random, sub: _Subscription, ext: dict[str, str]) -> dict[str, str]:
    # A few real cost recommendations come without a currency: the report must not assume USD.
    if rng.random() >= 0.06:
        ext["savingsCurrency"] = sub.currency
    return ext


def _vm_rightsize(rng: random.Random, sub: _Subscription, rtype: RecommendationType) -> list[dict[str, Any]]:
    """Right-size goes down (fewer vCPUs, less memory) and saves the price difference; shutdown
    saves what the VM costs. Never more than the VM costs."""
    current = rng.choice(VM_SIZES)
    shutdown = rng.random() < 0.35
    target = "Shutdown" if shutdown else rng.choice(RIGHT_SIZE_TARGETS[current])
    saved_usd = VM_PRICES[current].usd_month - (0.0 if shutdown else VM_PRICES[target].usd_month)
    monthly = round(saved_usd * sub.rate, 2)
    ext = {
        "recommendationType": "Shutdown" if shutdown else "Right-size",
        "currentSku": current,
        "targetSku": target,
        **_amounts(monthly, sub.currency),
        "regionId": rng.choice(REGIONS),
        "subscriptionId": sub.subscription_id,
        "MaxCpuP95": f"{rng.uniform(0.5, 4.5 if shutdown else 9):.1f}",
        "MaxMemoryP95": f"{rng.uniform(5, 40):.1f}",
        "MaxTotalNetworkP95": f"{rng.uniform(0.1, 2 if shutdown else 4):.1f}",
    }
    return [_recommendation(rng, sub, rtype, extended=_with_currency(rng, sub, ext))]


def reservation_unit_price(reserved_type: str, sku: str) -> float:
    """Pay-as-you-go USD per month of one unit of what a reservation covers."""
    return COSMOS_UNIT_USD_MONTH if reserved_type == "CosmosDb" else VM_PRICES[sku].usd_month


def _reservation(rng: random.Random, sub: _Subscription, rtype: RecommendationType) -> list[dict[str, Any]]:
    """One reservation opportunity, repeated per lookback period and term as Advisor does. The
    saving is the term's discount on what the quantity costs pay-as-you-go."""
    reserved_type = rtype.extra["reservedResourceType"]
    sku = rng.choice(rtype.extra["skus"])
    region = rng.choice(REGIONS)
    base_qty = rng.randint(10, 300) if reserved_type == "CosmosDb" else rng.randint(1, 12)
    unit = reservation_unit_price(reserved_type, sku) * sub.rate
    has_currency = rng.random() >= 0.06
    recs = []
    for lookback in ("7", "30", "60"):
        qty = max(1, base_qty + rng.randint(-1, 1))
        for term in ("P1Y", "P3Y"):
            monthly = round(qty * unit * RESERVATION_DISCOUNT[reserved_type][term], 2)
            ext = {
                "reservedResourceType": reserved_type,
                "displaySKU": sku,
                "sku": sku,
                "qty": str(qty),
                "displayQty": str(qty),
                "region": region,
                "location": region,
                "term": term,
                "lookbackPeriod": lookback,
                "scope": "Single",
                "subId": sub.subscription_id,
                **_amounts(monthly, sub.currency),
            }
            if has_currency:
                ext["savingsCurrency"] = sub.currency
            recs.append(_recommendation(rng, sub, rtype, extended=ext))
    return recs


def _savings_plan(rng: random.Random, sub: _Subscription, rtype: RecommendationType) -> list[dict[str, Any]]:
    """An hourly commitment (in the billing currency) and what it saves over pay-as-you-go."""
    recs = []
    hourly = rng.uniform(1, 25) * sub.rate
    for lookback in ("7", "30", "60"):
        commitment = round(hourly * rng.uniform(0.9, 1.1), 3)
        for term in ("P1Y", "P3Y"):
            monthly = round(commitment * 730 * SAVINGS_PLAN_FACTOR[term], 2)
            ext = {
                "term": term,
                "lookbackPeriod": lookback,
                "commitmentAmount": f"{commitment}",
                "commitmentGranularity": "Hourly",
                "scope": "Shared",
                **_amounts(monthly, sub.currency),
                "savingsCurrency": sub.currency,
            }
            recs.append(_recommendation(rng, sub, rtype, extended=ext))
    return recs


def _idle_resource(rng: random.Random, sub: _Subscription, rtype: RecommendationType) -> list[dict[str, Any]]:
    """An idle gateway or an unattached disk: the saving is what it costs."""
    sku = rng.choice(rtype.extra["skus"])
    ext = {"currentSku": sku, "region": rng.choice(REGIONS)}
    size = 1
    if rtype.impacted_field == "Microsoft.Compute/disks":
        size = rng.choice((1, 1, 2, 4, 8))
        ext["diskSizeGB"] = str(128 * size)
    monthly = round(IDLE_PRICES_USD[sku] * size * sub.rate, 2)
    ext.update(_amounts(monthly, sub.currency))
    return [_recommendation(rng, sub, rtype, extended=_with_currency(rng, sub, ext))]


def _plain(rng: random.Random, sub: _Subscription, rtype: RecommendationType) -> list[dict[str, Any]]:
    return [_recommendation(rng, sub, rtype)]


_BUILDERS = {
    "plain": _plain,
    "vm_rightsize": _vm_rightsize,
    "reservation": _reservation,
    "savings_plan": _savings_plan,
    "idle_resource": _idle_resource,
}


def _subscription_recommendations(rng: random.Random, sub: _Subscription, count: int) -> list[dict[str, Any]]:
    recs: list[dict[str, Any]] = []
    used_subscription_types: set[str] = set()
    # One of each category first, so even a small tenant shows all five.
    firsts = [
        rng.choice([t for t in CATALOGUE if t.category == c and t.kind == "plain" and t.scope == "resource"])
        for c in CATEGORIES
        if c != "Cost"
    ]
    firsts += [t for t in CATALOGUE if t.kind == "vm_rightsize"]
    weights = [t.weight for t in CATALOGUE]
    seen: set[tuple[str, ...]] = set()
    while len(recs) < count:
        rtype = firsts.pop(0) if firsts else rng.choices(CATALOGUE, weights=weights)[0]
        if rtype.scope == "subscription" and rtype.kind == "plain":
            # A subscription-level finding exists once per subscription.
            if rtype.type_id in used_subscription_types:
                continue
            used_subscription_types.add(rtype.type_id)
        batch = _BUILDERS[rtype.kind](rng, sub, rtype)
        # Advisor lists a recommendation once per resource (a reservation once per SKU and
        # region, a savings plan once per subscription): a repeat drawn by chance is dropped.
        key = _listing_key(batch[0])
        if key in seen:
            continue
        seen.add(key)
        recs.extend(batch)
    return recs[:count]


def _listing_key(item: dict[str, Any]) -> tuple[str, ...]:
    props = item["properties"]
    ext = props["extendedProperties"]
    resource = props["resourceMetadata"]["resourceId"].lower()
    return (props["recommendationTypeId"], resource, ext.get("sku", ""), ext.get("region", ""))


def build_tenant(subscriptions: int, recommendations_per_subscription: int, seed: int = 7) -> dict[str, Any]:
    """The sample tenant as the stand-in serves it; the same arguments give the same data.

    The fourth subscription (or the last one, when there are two or three) is billed in EUR.
    """
    if subscriptions < 1:
        raise ValueError("subscriptions must be at least 1")
    if recommendations_per_subscription < 0:
        raise ValueError("recommendations_per_subscription must not be negative")
    rng = random.Random(seed)
    eur_index = 3 if subscriptions >= 4 else (subscriptions - 1 if subscriptions >= 2 else None)
    envs = ("prod", "dev", "shared", "eu", "prod", "data", "sbx", "data", "test", "erp")
    result = []
    for index in range(subscriptions):
        if index < len(SUBSCRIPTION_NAMES):
            name = SUBSCRIPTION_NAMES[index]
        else:
            name = f"Contoso Workload {index + 1}"
        currency = "EUR" if index == eur_index else "USD"
        if currency == "EUR" and "EUR" not in name:
            name += " (EUR billing)"
        sub = _Subscription(
            subscription_id=_guid(rng),
            display_name=name,
            env=envs[index % len(envs)],
            currency=currency,
            resource_groups=tuple(rng.sample(RESOURCE_GROUPS, k=rng.randint(5, 8))),
        )
        result.append(
            {
                "subscriptionId": sub.subscription_id,
                "displayName": sub.display_name,
                "recommendations": _subscription_recommendations(rng, sub, recommendations_per_subscription),
            }
        )
    return {"subscriptions": result}


# The bundled sample (devhost/sample_tenant.json) is build_tenant(4, ...) with these counts.
BUNDLED_COUNTS = (112, 96, 84, 104)
BUNDLED_PATH = Path(__file__).with_name("sample_tenant.json")


def build_bundled_sample(seed: int = 7) -> dict[str, Any]:
    """The bundled sample: four subscriptions of different sizes (396 recommendations in all)."""
    tenant = build_tenant(len(BUNDLED_COUNTS), max(BUNDLED_COUNTS), seed=seed)
    for sub, count in zip(tenant["subscriptions"], BUNDLED_COUNTS, strict=True):
        sub["recommendations"] = sub["recommendations"][:count]
    return tenant


# Tenants served by name (``--tenant big``): built in memory, no file needed.
NAMED_TENANTS = ("sample", "big")


def resolve_tenant(value: str | None) -> str | dict[str, Any] | None:
    """What ``--tenant`` names: None or "sample" for the bundled sample (the stand-in's default),
    "big" for :func:`devhost.big_tenant.build_big_tenant`, anything else a JSON file's path."""
    if value in (None, "", "sample"):
        return None
    if value == "big":
        from devhost.big_tenant import build_big_tenant

        return build_big_tenant()
    return value


def write_tenant(tenant: dict[str, Any], out: Path) -> None:
    text = json.dumps(tenant, indent=1, ensure_ascii=False)
    out.write_text(text + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devhost.sample_tenant", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, help="where to write the JSON (default: stdout)")
    parser.add_argument("--subscriptions", type=int, default=4)
    parser.add_argument("--per-subscription", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--bundled", action="store_true", help="write the bundled sample (4 subscriptions of 84-112 each)"
    )
    parser.add_argument(
        "--big", action="store_true",
        help="write the big sample (45 subscriptions in 3 tenants, non-Latin names, 7 currencies)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.big:
        from devhost.big_tenant import build_big_tenant

        tenant = build_big_tenant()
    elif args.bundled:
        tenant = build_bundled_sample(args.seed)
    else:
        tenant = build_tenant(args.subscriptions, args.per_subscription, seed=args.seed)
    if args.out:
        write_tenant(tenant, args.out)
        total = sum(len(s["recommendations"]) for s in tenant["subscriptions"])
        print(f"wrote {args.out}: {len(tenant['subscriptions'])} subscriptions, {total} recommendations")
    else:
        json.dump(tenant, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
