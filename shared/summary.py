"""Report statistics: counts, savings per currency, top opportunities and recommendation groups.

Pure functions over an iterable of :class:`~shared.models.Recommendation`; no I/O. One pass
builds a :class:`ReportSummary`. The summary keeps one lightweight :class:`ResourceRow` per
affected resource (references to the recommendation's strings, no copies of the whole record),
so 15,000 recommendations cost a few MB.

Savings rules (docs/architecture.md, "Savings are totalled per currency"):

- Amounts are summed per currency and never across currencies. A recommendation that states an
  amount but no currency is counted under "unknown currency" and left out of every total; it is
  never assumed to be USD.
- Reservation and savings-plan recommendations repeat once per lookback period and term for the
  same purchase. Each such opportunity is counted once: the variant with the 30-day lookback
  (else the longest lookback), and among those the longest term (3 years over 1 year), then the
  larger monthly figure. The other variants are folded into it (``variants``).
- Right-size, shutdown, reservation and savings-plan savings can overlap for the same resources,
  so every total is an upper bound; ``savings_note`` says so and the reports print it. The
  savings are also split by kind (:data:`SAVINGS_KINDS`), and per currency an "achievable
  without overlap" figure is computed by the rule in :data:`ACHIEVABLE_RULE`
  (:func:`cost_breakdown`).
- Advisor's texts (problem, solution, benefits) are reduced to plain text once, here
  (``shared.text.plain_text``): the templates escape them like any other text.

``ReportSummary.to_dict()`` is the headline part (counts, savings, top opportunities, the
filters applied; no per-resource rows). ``shared.summary_store`` writes it, with the groups and
their rows, to the summary blob the render steps read; the summarize step copies the headline
counts and savings onto the report entity. Neither goes through orchestration history.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.action_plan import OpenItem, stable_id, unique_ids
from shared.models import CATEGORIES, IMPACTS, Recommendation, ReportFilters, parse_money
from shared.text import plain_text

SUMMARY_VERSION = 2
DEFAULT_TOP_N = 10
PREFERRED_LOOKBACK_DAYS = 30
# The dict form carries at most this many characters of free text per field.
_DICT_TEXT_LIMIT = 120

_IMPACT_RANK = {impact: rank for rank, impact in enumerate(IMPACTS)}  # high=0 ... low=2
_CATEGORY_RANK = {category: rank for rank, category in enumerate(CATEGORIES)}
_DIGITS_RE = re.compile(r"\d+")
_TERM_RE = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?", re.IGNORECASE)

RESERVATION_RULE = (
    "the 30-day lookback figure (else the longest lookback) for the longest term available "
    "(3 years over 1 year)"
)


def impact_rank(impact: str) -> int:
    """Sort key: high < medium < low < anything unknown."""
    return _IMPACT_RANK.get(impact, len(IMPACTS))


def category_rank(category: str) -> int:
    return _CATEGORY_RANK.get(category, len(CATEGORIES))


@dataclass(slots=True)
class SavingsTotal:
    """Savings in one currency: the sum of the counted opportunities' monthly and annual figures."""

    currency: str
    monthly: Decimal = Decimal(0)
    annual: Decimal = Decimal(0)
    count: int = 0

    def add(self, monthly: Decimal, annual: Decimal) -> None:
        self.monthly += monthly
        self.annual += annual
        self.count += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "monthly": str(self.monthly),
            "annual": str(self.annual),
            "count": self.count,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SavingsTotal:
        return cls(
            currency=str(data["currency"]),
            monthly=parse_money(data.get("monthly")) or Decimal(0),
            annual=parse_money(data.get("annual")) or Decimal(0),
            count=int(data.get("count", 0)),
        )


@dataclass(slots=True)
class ResourceRow:
    """One affected resource of a group: what a report's table row needs, nothing more."""

    recommendation_id: str
    resource_name: str
    resource_group: str
    resource_type: str
    subscription_id: str
    impact: str
    monthly_savings: Decimal | None
    annual_savings: Decimal | None
    currency: str | None  # None: amount without a currency, or no amount at all
    last_updated: datetime | None
    current_sku: str = ""
    target_sku: str = ""
    term: str = ""
    lookback_days: int | None = None
    quantity: str = ""
    variants: int = 1  # reservation variants (lookback/term) folded into this row
    resource_id: str = ""  # the ARM resource id ("" for a CSV row)
    stable_id: str = ""  # the action plan's id (shared.action_plan), unique within the report
    kind: str = ""  # one of SAVINGS_KINDS for a cost row, "" otherwise
    action: str = ""  # Advisor's recommendationType (Shutdown, Right-size, ...) when given
    region: str = ""
    scope: str = ""  # reservation / savings plan scope (Single, Shared)
    reserved_type: str = ""  # reservedResourceType (VirtualMachines, CosmosDb, ...)
    commitment: str = ""  # savings plan commitment, e.g. "12.5 / hour"
    cpu_p95: str = ""  # right-size evidence: Advisor's P95 CPU / memory / network use, %
    memory_p95: str = ""
    network_p95: str = ""

    @property
    def is_subscription_level(self) -> bool:
        return not self.resource_group

    @property
    def has_savings(self) -> bool:
        return self.monthly_savings is not None or self.annual_savings is not None


@dataclass(slots=True)
class Opportunity:
    """A top savings opportunity (one counted row with a known currency)."""

    problem: str
    category: str
    impact: str
    recommendation_type_id: str
    resource_name: str
    resource_group: str
    subscription_id: str
    currency: str
    monthly: Decimal
    annual: Decimal
    current_sku: str = ""
    target_sku: str = ""
    term: str = ""
    lookback_days: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Compact: free text shortened, empty fields left out."""
        data: dict[str, Any] = {
            "problem": self.problem[:_DICT_TEXT_LIMIT],
            "category": self.category,
            "impact": self.impact,
            "recommendationTypeId": self.recommendation_type_id,
            "resourceName": self.resource_name[:_DICT_TEXT_LIMIT],
            "resourceGroup": self.resource_group,
            "subscriptionId": self.subscription_id,
            "currency": self.currency,
            "monthly": str(self.monthly),
            "annual": str(self.annual),
            "currentSku": self.current_sku,
            "targetSku": self.target_sku,
            "term": self.term,
            "lookbackDays": self.lookback_days,
        }
        return {k: v for k, v in data.items() if v not in ("", None)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Opportunity:
        return cls(
            problem=str(data.get("problem", "")),
            category=str(data.get("category", "")),
            impact=str(data.get("impact", "")),
            recommendation_type_id=str(data.get("recommendationTypeId", "")),
            resource_name=str(data.get("resourceName", "")),
            resource_group=str(data.get("resourceGroup", "")),
            subscription_id=str(data.get("subscriptionId", "")),
            currency=str(data.get("currency", "")),
            monthly=parse_money(data.get("monthly")) or Decimal(0),
            annual=parse_money(data.get("annual")) or Decimal(0),
            current_sku=str(data.get("currentSku", "")),
            target_sku=str(data.get("targetSku", "")),
            term=str(data.get("term", "")),
            lookback_days=data.get("lookbackDays"),
        )


@dataclass(slots=True)
class RecommendationGroup:
    """All affected resources of one recommendation type."""

    key: str
    recommendation_type_id: str
    category: str
    problem: str
    solution: str
    learn_more_link: str
    impact: str  # the highest impact seen in the group
    rows: list[ResourceRow] = field(default_factory=list)
    savings: dict[str, SavingsTotal] = field(default_factory=dict)
    unknown_currency_count: int = 0
    potential_benefits: str = ""
    area: str = ""  # the workload area of its resources (workload_area), for the operations report

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def has_savings(self) -> bool:
        return bool(self.savings) or self.unknown_currency_count > 0

    def savings_list(self) -> list[SavingsTotal]:
        return sorted(self.savings.values(), key=lambda s: (-s.count, s.currency))


@dataclass
class ReportSummary:
    """The statistics a report prints. ``groups`` (with their rows) are left out of
    ``to_dict``; ``shared.summary_store`` stores them (``has_rows`` says whether they are here)."""

    total: int = 0  # opportunities: recommendations after folding reservation variants
    received: int = 0  # recommendations that matched the filters, as Advisor lists them
    folded_variants: int = 0  # received - total
    resource_count: int = 0  # distinct affected resources
    counts_by_category: dict[str, int] = field(default_factory=dict)
    counts_by_impact: dict[str, int] = field(default_factory=dict)
    counts_by_subscription: dict[str, int] = field(default_factory=dict)
    subscription_names: dict[str, str] = field(default_factory=dict)
    savings: list[SavingsTotal] = field(default_factory=list)
    unknown_currency_count: int = 0
    savings_note: str = ""
    top_opportunities: list[Opportunity] = field(default_factory=list)
    groups: list[RecommendationGroup] = field(default_factory=list)
    group_count: int = 0
    row_count: int = 0
    filters: ReportFilters = field(default_factory=ReportFilters)
    has_rows: bool = True  # False for a summary rebuilt from its dict form
    # Cost breakdown (cost_breakdown): currency -> kind -> total; currency -> achievable total;
    # subscription -> currency -> total (upper bound) and achievable.
    savings_by_kind: dict[str, dict[str, SavingsTotal]] = field(default_factory=dict)
    achievable: dict[str, SavingsTotal] = field(default_factory=dict)
    savings_by_subscription: dict[str, dict[str, SavingsTotal]] = field(default_factory=dict)
    achievable_by_subscription: dict[str, dict[str, SavingsTotal]] = field(default_factory=dict)
    # What changed since the previous report of the same scope (shared.pipeline fills it):
    # shared.action_plan.Changes.to_dict() plus previousReportId / previousRequestedAt.
    changes: dict[str, Any] | None = None

    @property
    def high_impact(self) -> int:
        return self.counts_by_impact.get("high", 0)

    def savings_for(self, currency: str) -> SavingsTotal | None:
        return next((s for s in self.savings if s.currency == currency), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe and small: no per-resource rows, Decimals as strings."""
        return {
            "version": SUMMARY_VERSION,
            "total": self.total,
            "received": self.received,
            "foldedVariants": self.folded_variants,
            "resourceCount": self.resource_count,
            "countsByCategory": dict(self.counts_by_category),
            "countsByImpact": dict(self.counts_by_impact),
            "countsBySubscription": dict(self.counts_by_subscription),
            "savings": [s.to_dict() for s in self.savings],
            "unknownCurrencyCount": self.unknown_currency_count,
            "savingsNote": self.savings_note,
            "topOpportunities": [o.to_dict() for o in self.top_opportunities],
            "groupCount": self.group_count,
            "rowCount": self.row_count,
            "filters": self.filters.to_dict(),
            "savingsByKind": _nested_to_dict(self.savings_by_kind),
            "achievable": [t.to_dict() for t in self.achievable.values()],
            "savingsBySubscription": _nested_to_dict(self.savings_by_subscription),
            "achievableBySubscription": _nested_to_dict(self.achievable_by_subscription),
            "changes": self.changes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReportSummary:
        return cls(
            total=int(data.get("total", 0)),
            received=int(data.get("received", 0)),
            folded_variants=int(data.get("foldedVariants", 0)),
            resource_count=int(data.get("resourceCount", 0)),
            counts_by_category={str(k): int(v) for k, v in (data.get("countsByCategory") or {}).items()},
            counts_by_impact={str(k): int(v) for k, v in (data.get("countsByImpact") or {}).items()},
            counts_by_subscription={
                str(k): int(v) for k, v in (data.get("countsBySubscription") or {}).items()
            },
            savings=[SavingsTotal.from_dict(s) for s in data.get("savings") or ()],
            unknown_currency_count=int(data.get("unknownCurrencyCount", 0)),
            savings_note=str(data.get("savingsNote", "")),
            top_opportunities=[Opportunity.from_dict(o) for o in data.get("topOpportunities") or ()],
            group_count=int(data.get("groupCount", 0)),
            row_count=int(data.get("rowCount", 0)),
            filters=ReportFilters.from_dict(data.get("filters")),
            has_rows=False,
            savings_by_kind=_nested_from_dict(data.get("savingsByKind")),
            achievable={t["currency"]: SavingsTotal.from_dict(t) for t in data.get("achievable") or ()},
            savings_by_subscription=_nested_from_dict(data.get("savingsBySubscription")),
            achievable_by_subscription=_nested_from_dict(data.get("achievableBySubscription")),
            changes=data.get("changes") or None,
        )


def open_items(summary: ReportSummary) -> dict[str, OpenItem]:
    """The report's counted rows by action-plan id, as a comparison with another report needs
    them (a reservation's folded variants are not items of their own)."""
    return {
        row.stable_id: OpenItem(row.currency, row.monthly_savings, row.annual_savings)
        for group in summary.groups
        for row in group.rows
        if row.stable_id
    }


def _nested_to_dict(nested: Mapping[str, Mapping[str, SavingsTotal]]) -> dict[str, dict[str, Any]]:
    return {key: {inner: t.to_dict() for inner, t in totals.items()} for key, totals in nested.items()}


def _nested_from_dict(data: Any) -> dict[str, dict[str, SavingsTotal]]:
    return {
        str(key): {str(inner): SavingsTotal.from_dict(t) for inner, t in (totals or {}).items()}
        for key, totals in (data or {}).items()
    }


# --- helpers -------------------------------------------------------------------------------


def display_resource_name(rec: Recommendation) -> str:
    """Advisor names a subscription-level recommendation's resource by the subscription id;
    the subscription's display name reads better where we know it."""
    name = rec.resource_name
    if rec.subscription_name and name.lower() == rec.subscription_id.lower():
        return rec.subscription_name
    return name


def lookback_days(value: str | None) -> int | None:
    """'30' / 'Last30Days' / '30 days' -> 30; None when absent or unreadable."""
    if not value:
        return None
    match = _DIGITS_RE.search(str(value))
    return int(match.group()) if match else None


def term_months(value: str | None) -> int | None:
    """ISO 8601 term ('P1Y', 'P3Y', 'P6M') -> months; None when absent or unreadable."""
    if not value:
        return None
    match = _TERM_RE.fullmatch(str(value).strip())
    if not match or not any(match.groups()):
        return None
    years, months = match.groups()
    return int(years or 0) * 12 + int(months or 0)


def is_commitment(rec: Recommendation) -> bool:
    """Reservation or savings-plan purchase: repeats once per lookback period and term."""
    if rec.is_reservation:
        return True
    ext = rec.extended_properties
    kind = ext.get("recommendationType", "").lower().replace(" ", "").replace("_", "")
    return "savingsplan" in kind or bool(ext.get("term"))


_COMMITMENT_KEY_FIELDS = ("reservedResourceType", "displaySKU", "sku", "region", "location", "scope")


def commitment_key(rec: Recommendation) -> tuple[str, ...]:
    """What stays the same across a reservation's lookback/term variants."""
    ext = rec.extended_properties
    return (
        rec.subscription_id.lower(),
        rec.recommendation_type_id.lower(),
        rec.category,
        (rec.resource_id or rec.resource_name).lower(),
        *(str(ext.get(name, "")).lower() for name in _COMMITMENT_KEY_FIELDS),
    )


def representative_rank(rec: Recommendation) -> tuple[Any, ...]:
    """Higher is preferred; see the module docstring (30-day lookback, longest term, larger)."""
    days = lookback_days(rec.lookback_period)
    months = term_months(rec.term)
    monthly = rec.monthly_savings
    return (
        days == PREFERRED_LOOKBACK_DAYS,
        days if days is not None else -1,
        months if months is not None else -1,
        monthly if monthly is not None else Decimal(-1),
        rec.recommendation_id,
    )


# --- savings kinds and what can be achieved without overlap ---------------------------------

KIND_RESOURCE = "resource"  # right-size, shutdown, delete or reconfigure an idle resource
KIND_RESERVATION = "reservation"
KIND_SAVINGS_PLAN = "savings_plan"
SAVINGS_KINDS = (KIND_RESOURCE, KIND_RESERVATION, KIND_SAVINGS_PLAN)
KIND_LABELS = {
    KIND_RESOURCE: "Right-size, shut down or remove",
    KIND_RESERVATION: "Reservations",
    KIND_SAVINGS_PLAN: "Savings plans",
}
# Reserved resource types a compute savings plan also covers (VMs, dedicated hosts, App
# Service, container instances): a reservation of these and a savings plan buy the same usage.
COMPUTE_RESERVATION_TYPES = frozenset(
    {"virtualmachines", "dedicatedhost", "dedicatedhosts", "appservice", "containerinstances"}
)
ACHIEVABLE_RULE = (
    "Achievable without overlap, per subscription and currency: for each resource only its largest "
    "right-size, shutdown or removal saving; plus reservations for services no savings plan covers; "
    "plus the larger of compute reservations and savings plans, since both buy the same compute "
    "usage. Commitments are sized on today's usage: right-size first, then buy."
)


def savings_kind(rec: Recommendation) -> str:
    """Which kind of saving a cost recommendation is (see :data:`SAVINGS_KINDS`); "" for others."""
    if rec.category != "cost":
        return ""
    if rec.is_reservation:
        return KIND_RESERVATION
    ext = rec.extended_properties
    kind = ext.get("recommendationType", "").lower().replace(" ", "").replace("_", "")
    return KIND_SAVINGS_PLAN if "savingsplan" in kind or ext.get("term") else KIND_RESOURCE


def _achievable(rows: Iterable[ResourceRow]) -> Decimal:
    """One subscription's rows in one currency, counted by :data:`ACHIEVABLE_RULE`."""
    per_resource: dict[str, Decimal] = {}
    other_reservations = compute_reservations = savings_plans = Decimal(0)
    for row in rows:
        monthly = row.monthly_savings or Decimal(0)
        if row.kind == KIND_SAVINGS_PLAN:
            savings_plans += monthly
        elif row.kind == KIND_RESERVATION:
            if row.reserved_type.lower() in COMPUTE_RESERVATION_TYPES:
                compute_reservations += monthly
            else:
                other_reservations += monthly
        else:
            key = (row.resource_id or f"{row.resource_group}/{row.resource_name}").lower()
            per_resource[key] = max(per_resource.get(key, Decimal(0)), monthly)
    return (
        sum(per_resource.values(), Decimal(0)) + other_reservations + max(compute_reservations, savings_plans)
    )


def cost_breakdown(summary: ReportSummary) -> None:
    """Fill the summary's savings by kind, by subscription and achievable without overlap, from
    its counted rows with a known currency and a positive monthly saving."""
    by_kind: dict[str, dict[str, SavingsTotal]] = {}
    by_sub: dict[str, dict[str, SavingsTotal]] = {}
    buckets: dict[tuple[str, str], list[ResourceRow]] = {}
    for group in summary.groups:
        for row in group.rows:
            if not row.currency or not row.monthly_savings or row.monthly_savings <= 0:
                continue
            annual = row.annual_savings or Decimal(0)
            kind = row.kind or KIND_RESOURCE
            by_kind.setdefault(row.currency, {}).setdefault(kind, SavingsTotal(row.currency)).add(
                row.monthly_savings, annual
            )
            by_sub.setdefault(row.subscription_id, {}).setdefault(
                row.currency, SavingsTotal(row.currency)
            ).add(row.monthly_savings, annual)
            buckets.setdefault((row.subscription_id, row.currency), []).append(row)
    achievable: dict[str, SavingsTotal] = {}
    achievable_by_sub: dict[str, dict[str, SavingsTotal]] = {}
    for (sub, currency), rows in sorted(buckets.items()):
        monthly = _achievable(rows)
        total = SavingsTotal(currency, monthly, monthly * 12, len(rows))
        achievable_by_sub.setdefault(sub, {})[currency] = total
        overall = achievable.setdefault(currency, SavingsTotal(currency))
        overall.monthly += total.monthly
        overall.annual += total.annual
        overall.count += total.count
    order = [t.currency for t in summary.savings]
    summary.savings_by_kind = {
        c: {k: by_kind[c][k] for k in SAVINGS_KINDS if k in by_kind[c]} for c in order if c in by_kind
    }
    summary.achievable = {c: achievable[c] for c in order if c in achievable}
    summary.savings_by_subscription = by_sub
    summary.achievable_by_subscription = achievable_by_sub


# --- workload areas (the operations report groups by them) --------------------------------

_AREAS: tuple[tuple[str, str], ...] = (
    ("microsoft.sqlvirtualmachine/", "Databases"),
    ("microsoft.sql/", "Databases"),
    ("microsoft.documentdb/", "Databases"),
    ("microsoft.dbfor", "Databases"),
    ("microsoft.cache/", "Databases"),
    ("microsoft.compute/disks", "Storage"),
    ("microsoft.compute/", "Virtual machines"),
    ("microsoft.storage/", "Storage"),
    ("microsoft.network/", "Networking"),
    ("microsoft.cdn/", "Networking"),
    ("microsoft.containerservice/", "Containers"),
    ("microsoft.containerregistry/", "Containers"),
    ("microsoft.app/", "Containers"),
    ("microsoft.web/", "App Service and functions"),
    ("microsoft.insights/", "Monitoring"),
    ("microsoft.operationalinsights/", "Monitoring"),
    ("microsoft.keyvault/", "Identity and secrets"),
    ("microsoft.subscriptions/", "Subscription and governance"),
    ("microsoft.resources/", "Subscription and governance"),
)
AREA_ORDER = (
    "Virtual machines", "Storage", "Databases", "Networking", "Containers",
    "App Service and functions", "Monitoring", "Identity and secrets", "Subscription and governance",
)  # fmt: skip
OTHER_AREA = "Other services"


def workload_area(resource_type: str) -> str:
    """The workload area a resource type belongs to ('Microsoft.Compute/virtualMachines' ->
    'Virtual machines'); :data:`OTHER_AREA` for types not listed."""
    kind = resource_type.lower()
    if not kind:
        return "Subscription and governance"
    return next((area for prefix, area in _AREAS if kind.startswith(prefix)), OTHER_AREA)


def area_rank(area: str) -> int:
    return AREA_ORDER.index(area) if area in AREA_ORDER else len(AREA_ORDER)


def group_key(rec: Recommendation) -> str:
    """Recommendation type id; CSV rows without one group by category and problem text."""
    if rec.recommendation_type_id:
        return rec.recommendation_type_id.lower()
    return f"{rec.category}:{rec.problem.strip().lower()}"


def _ordered_counts(counts: dict[str, int], canonical: tuple[str, ...]) -> dict[str, int]:
    """Known keys in canonical order (only those present), then unknown ones by name."""
    ordered = {key: counts[key] for key in canonical if key in counts}
    for key in sorted(k for k in counts if k not in ordered):
        ordered[key] = counts[key]
    return ordered


def _row_sort_key(row: ResourceRow) -> tuple[Any, ...]:
    return (
        0 if row.monthly_savings else 1,
        row.currency or "~",
        -(row.monthly_savings or 0),
        impact_rank(row.impact),
        row.subscription_id.lower(),
        row.resource_group.lower(),
        row.resource_name.lower(),
        row.recommendation_id,
    )


def _group_sort_key(group: RecommendationGroup) -> tuple[Any, ...]:
    return (category_rank(group.category), group.category, impact_rank(group.impact), -group.count, group.key)


def build_savings_note(summary: ReportSummary) -> str:
    parts = ["Savings are totalled per currency and never added across currencies."]
    if summary.folded_variants:
        n = summary.folded_variants
        parts.append(
            "Reservation recommendations repeat once per lookback period and term; each is counted "
            f"once, using {RESERVATION_RULE}; {n:,} repeated variant{'s are' if n != 1 else ' is'} "
            "not counted."
        )
    else:
        parts.append(
            "Reservation recommendations, which repeat once per lookback period and term, are "
            f"counted once, using {RESERVATION_RULE}."
        )
    parts.append(
        "Right-size, shutdown, reservation and savings-plan recommendations can overlap for the same "
        "resources, so the totals are an upper bound rather than an expected saving."
    )
    if summary.unknown_currency_count:
        n = summary.unknown_currency_count
        parts.append(
            f"{n} recommendation{'s' if n != 1 else ''} state{'' if n != 1 else 's'} savings without a "
            "currency; they are listed as 'unknown currency' and left out of every total."
        )
    return " ".join(parts)


def top_opportunities(
    groups: Iterable[RecommendationGroup], currencies: Iterable[str], top_n: int
) -> list[Opportunity]:
    """The ``top_n`` largest monthly savings per currency (counted rows only), currencies in the
    given order; ties broken by recommendation id so the result does not depend on input order."""
    if top_n <= 0:
        return []
    by_currency: dict[str, list[tuple[ResourceRow, RecommendationGroup]]] = {}
    for group in groups:
        for row in group.rows:
            if row.currency and row.monthly_savings and row.monthly_savings > 0:
                by_currency.setdefault(row.currency, []).append((row, group))
    result: list[Opportunity] = []
    for currency in currencies:
        best = heapq.nsmallest(
            top_n,
            by_currency.get(currency, ()),
            key=lambda item: (-(item[0].monthly_savings or 0), item[0].recommendation_id),
        )
        for row, group in best:
            result.append(
                Opportunity(
                    problem=group.problem,
                    category=group.category,
                    impact=row.impact,
                    recommendation_type_id=group.recommendation_type_id,
                    resource_name=row.resource_name,
                    resource_group=row.resource_group,
                    subscription_id=row.subscription_id,
                    currency=currency,
                    monthly=row.monthly_savings or Decimal(0),
                    annual=row.annual_savings or Decimal(0),
                    current_sku=row.current_sku,
                    target_sku=row.target_sku,
                    term=row.term,
                    lookback_days=row.lookback_days,
                )
            )
    return result


# --- the one pass --------------------------------------------------------------------------


def _commitment(ext: Mapping[str, str]) -> str:
    """A savings plan's commitment as a buyer reads it: '12.5 / hour'."""
    amount = ext.get("commitmentAmount", "")
    if not amount:
        return ""
    granularity = ext.get("commitmentGranularity", "").lower()
    unit = {"hourly": "hour", "daily": "day", "monthly": "month"}.get(granularity, granularity)
    return f"{amount} / {unit}" if unit else amount


def _area_group_sort_key(group: RecommendationGroup) -> tuple[Any, ...]:
    return (area_rank(group.area), group.area, impact_rank(group.impact), -group.count, group.key)


class _Builder:
    """Accumulates the summary; reservation variants wait in ``pending`` until the end."""

    def __init__(self, top_n: int, by_area: bool = False) -> None:
        self.top_n = top_n
        self.by_area = by_area
        self.summary = ReportSummary()
        self.groups: dict[str, RecommendationGroup] = {}
        self.categories: dict[str, int] = {}
        self.impacts: dict[str, int] = {}
        self.subscriptions: dict[str, int] = {}
        self.savings: dict[str, SavingsTotal] = {}
        self.resources: set[str] = set()
        self.pending: dict[tuple[str, ...], tuple[tuple[Any, ...], Recommendation, int]] = {}

    def add(self, rec: Recommendation) -> None:
        self.summary.received += 1
        if is_commitment(rec):
            key = commitment_key(rec)
            rank = representative_rank(rec)
            held = self.pending.get(key)
            if held is None:
                self.pending[key] = (rank, rec, 1)
            elif rank > held[0]:
                self.pending[key] = (rank, rec, held[2] + 1)
            else:
                self.pending[key] = (held[0], held[1], held[2] + 1)
            return
        self.count(rec, variants=1)

    def count(self, rec: Recommendation, variants: int) -> None:
        s = self.summary
        s.total += 1
        self.categories[rec.category] = self.categories.get(rec.category, 0) + 1
        self.impacts[rec.impact] = self.impacts.get(rec.impact, 0) + 1
        self.subscriptions[rec.subscription_id] = self.subscriptions.get(rec.subscription_id, 0) + 1
        if rec.subscription_name and rec.subscription_id not in s.subscription_names:
            s.subscription_names[rec.subscription_id] = rec.subscription_name
        self.resources.add((rec.resource_id or f"{rec.subscription_id}/{rec.resource_name}").lower())

        monthly, annual = rec.monthly_savings, rec.annual_savings  # normalised by Recommendation
        currency = rec.savings_currency if monthly is not None else None
        ext = rec.extended_properties
        row = ResourceRow(
            recommendation_id=rec.recommendation_id,
            resource_name=display_resource_name(rec),
            resource_group=rec.resource_group,
            resource_type=rec.resource_type,
            subscription_id=rec.subscription_id,
            impact=rec.impact,
            monthly_savings=monthly,
            annual_savings=annual,
            currency=currency,
            last_updated=rec.last_updated,
            current_sku=ext.get("currentSku", ""),
            target_sku=ext.get("targetSku", "") or ext.get("displaySKU", "") or ext.get("sku", ""),
            term=ext.get("term", ""),
            lookback_days=lookback_days(ext.get("lookbackPeriod")),
            quantity=ext.get("displayQty", "") or ext.get("qty", ""),
            variants=variants,
            resource_id=rec.resource_id,
            stable_id=stable_id(rec),
            kind=savings_kind(rec) if monthly else "",
            action=ext.get("recommendationType", ""),
            region=ext.get("region", "") or ext.get("regionId", "") or ext.get("location", ""),
            scope=ext.get("scope", ""),
            reserved_type=ext.get("reservedResourceType", ""),
            commitment=_commitment(ext),
            cpu_p95=ext.get("MaxCpuP95", ""),
            memory_p95=ext.get("MaxMemoryP95", ""),
            network_p95=ext.get("MaxTotalNetworkP95", ""),
        )

        gkey = group_key(rec)
        group = self.groups.get(gkey)
        if group is None:
            group = self.groups[gkey] = RecommendationGroup(
                key=gkey,
                recommendation_type_id=rec.recommendation_type_id,
                category=rec.category,
                problem=plain_text(rec.problem),
                solution=plain_text(rec.solution),
                learn_more_link=rec.learn_more_link,
                impact=rec.impact,
                potential_benefits=plain_text(rec.potential_benefits),
                area=workload_area(rec.resource_type),
            )
        else:
            if impact_rank(rec.impact) < impact_rank(group.impact):
                group.impact = rec.impact
            if not group.learn_more_link:
                group.learn_more_link = rec.learn_more_link
            for text in ("solution", "potential_benefits"):  # first one given wins
                if not getattr(group, text):
                    setattr(group, text, plain_text(getattr(rec, text)))
        group.rows.append(row)

        if monthly is None or annual is None or (monthly == 0 and annual == 0):
            return
        if currency is None:
            s.unknown_currency_count += 1
            group.unknown_currency_count += 1
            return
        self.savings.setdefault(currency, SavingsTotal(currency)).add(monthly, annual)
        group.savings.setdefault(currency, SavingsTotal(currency)).add(monthly, annual)

    def finish(self, filters: ReportFilters) -> ReportSummary:
        # Deterministic regardless of input order: representatives by key.
        for key in sorted(self.pending):
            _, rec, variants = self.pending[key]
            self.count(rec, variants=variants)
        self.pending.clear()

        s = self.summary
        s.filters = filters
        s.folded_variants = s.received - s.total
        s.resource_count = len(self.resources)
        self.resources.clear()
        s.counts_by_category = _ordered_counts(self.categories, CATEGORIES)
        s.counts_by_impact = _ordered_counts(self.impacts, IMPACTS)
        s.counts_by_subscription = dict(sorted(self.subscriptions.items(), key=lambda kv: (-kv[1], kv[0])))
        s.savings = sorted(self.savings.values(), key=lambda t: (-t.count, t.currency))
        for group in self.groups.values():
            group.rows.sort(key=_row_sort_key)
        s.groups = sorted(self.groups.values(), key=_area_group_sort_key if self.by_area else _group_sort_key)
        rows = [row for group in s.groups for row in group.rows]
        for row, unique in zip(rows, unique_ids(row.stable_id for row in rows), strict=True):
            row.stable_id = unique
        s.top_opportunities = top_opportunities(s.groups, [t.currency for t in s.savings], self.top_n)
        s.group_count = len(s.groups)
        s.row_count = sum(g.count for g in s.groups)
        s.has_rows = True
        s.savings_note = build_savings_note(s)
        cost_breakdown(s)
        return s


def summarize(
    recommendations: Iterable[Recommendation],
    *,
    filters: ReportFilters | None = None,
    top_n: int = DEFAULT_TOP_N,
    by_area: bool = False,
) -> ReportSummary:
    """Compute the report statistics in one pass.

    ``filters`` (the report's effective filters, ``pipeline.report_filters``) drops
    recommendations that do not match before anything is counted, and is kept on the summary
    so the rendered report lists what was applied. ``top_n`` is per currency. ``by_area``
    orders the groups by workload area first (the operations report), else by category.
    """
    filters = filters or ReportFilters()
    builder = _Builder(top_n, by_area)
    check = filters.matches if (filters.categories or filters.impacts or filters.resource_groups) else None
    for rec in recommendations:
        if check is None or check(rec):
            builder.add(rec)
    return builder.finish(filters)
