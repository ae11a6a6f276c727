"""Domain models: a normalized Advisor recommendation, report requests and reports.

Advisor's API and the portal's CSV export both end up as :class:`Recommendation`. Category and
impact are normalized to our internal names; values we do not know are kept as they came
(lower-cased, spaces to underscores) so a new Advisor category never crashes a report.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation, localcontext
from enum import StrEnum
from typing import Any

# Internal category names, in the order reports show them.
CATEGORIES: tuple[str, ...] = (
    "reliability",
    "security",
    "performance",
    "cost",
    "operational_excellence",
)
IMPACTS: tuple[str, ...] = ("high", "medium", "low")

CATEGORY_LABELS = {
    "reliability": "Reliability",
    "security": "Security",
    "performance": "Performance",
    "cost": "Cost",
    "operational_excellence": "Operational excellence",
}

# Advisor API name -> internal name. The portal's labels map here too (lower-cased lookups).
_CATEGORY_ALIASES = {
    "highavailability": "reliability",
    "high availability": "reliability",
    "reliability": "reliability",
    "security": "security",
    "performance": "performance",
    "cost": "cost",
    "operationalexcellence": "operational_excellence",
    "operational excellence": "operational_excellence",
    "operational_excellence": "operational_excellence",
}
# Internal name -> the API's name, for server-side $filter.
API_CATEGORY = {
    "reliability": "HighAvailability",
    "security": "Security",
    "performance": "Performance",
    "cost": "Cost",
    "operational_excellence": "OperationalExcellence",
}

_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_guid(value: str) -> bool:
    return bool(_GUID_RE.match(value or ""))


def _slug(value: str) -> str:
    return re.sub(r"[\s\-]+", "_", value.strip().lower())


def normalize_category(value: str | None) -> str:
    """Map an API or portal category to our name; unknown values are kept, slugged."""
    if not value:
        return "unknown"
    key = value.strip().lower()
    return _CATEGORY_ALIASES.get(key) or _CATEGORY_ALIASES.get(key.replace("_", "")) or _slug(value)


def normalize_impact(value: str | None) -> str:
    if not value:
        return "unknown"
    return _slug(value)


def category_label(category: str) -> str:
    return CATEGORY_LABELS.get(category, category.replace("_", " ").capitalize())


def parse_money(value: Any) -> Decimal | None:
    """Parse an amount as Advisor and the portal write it ("5,332", "12.5", ""): None if absent."""
    if value is None:
        return None
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value))
    text = str(value).strip().replace(",", "").replace("\u00a0", "").replace(" ", "")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


_CENT = Decimal("0.01")
_TWELVE = Decimal(12)


def normalize_currency(value: Any) -> str | None:
    """A currency code as reports print and total it: trimmed, upper-cased; None when absent
    (an amount without a currency is never assumed to be USD)."""
    if value is None:
        return None
    code = str(value).strip().upper()
    return code or None


def savings_amounts(monthly: Decimal | None, annual: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    """(monthly, annual): when Advisor or the portal gives only one, the other is derived
    (x12, or /12 to the cent). An amount too large for any real saving is kept as given and
    the other figure left absent rather than failing the report."""
    try:
        with localcontext() as ctx:
            ctx.prec = 40
            if monthly is None and annual is not None:
                monthly = (annual / _TWELVE).quantize(_CENT)
            elif annual is None and monthly is not None:
                annual = monthly * _TWELVE
    except ArithmeticError:
        pass
    return monthly, annual


class ReportType(StrEnum):
    DETAILED = "detailed"
    EXECUTIVE = "executive"
    COST = "cost"
    SECURITY = "security"
    OPERATIONS = "operations"

    @property
    def categories(self) -> tuple[str, ...] | None:
        """The categories a report of this type covers; None means all."""
        return _TYPE_CATEGORIES[self]


_TYPE_CATEGORIES: dict[ReportType, tuple[str, ...] | None] = {
    ReportType.DETAILED: None,
    ReportType.EXECUTIVE: None,
    ReportType.COST: ("cost",),
    ReportType.SECURITY: ("security",),
    ReportType.OPERATIONS: ("reliability", "operational_excellence", "performance"),
}


class ReportStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    GENERATING = "generating"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (ReportStatus.COMPLETED, ReportStatus.FAILED)

    def can_become(self, new: ReportStatus) -> bool:
        """Forward moves, repeats (a retried activity), and failure from any unfinished state."""
        if self.finished:
            return new is self
        if new is ReportStatus.FAILED:
            return True
        return _STATUS_ORDER[new] >= _STATUS_ORDER[self]


_STATUS_ORDER = {
    ReportStatus.PENDING: 0,
    ReportStatus.PROCESSING: 1,
    ReportStatus.GENERATING: 2,
    ReportStatus.COMPLETED: 3,
    ReportStatus.FAILED: 3,
}


@dataclass
class Recommendation:
    """One Advisor recommendation, normalized from the API or the portal's CSV export.

    ``recommendation_id`` is stable for the same recommendation (the ARM id, or a hash of the
    CSV row's identifying columns), which is what makes re-fetching idempotent.
    """

    recommendation_id: str  # the full ARM id (or a synthesized one for CSV rows)
    subscription_id: str
    category: str
    impact: str
    recommendation_type_id: str = ""
    problem: str = ""
    solution: str = ""
    resource_id: str = ""
    resource_type: str = ""
    resource_name: str = ""
    resource_group: str = ""
    subscription_name: str = ""
    monthly_savings: Decimal | None = None
    annual_savings: Decimal | None = None
    savings_currency: str | None = None  # None: unknown, never silently USD
    last_updated: datetime | None = None
    learn_more_link: str = ""
    potential_benefits: str = ""
    description: str = ""
    extended_properties: dict[str, str] = field(default_factory=dict)
    source: str = "api"  # "api" or "csv"

    def __post_init__(self) -> None:
        # The one place savings and currency are normalised: every recommendation (from the
        # API, the CSV, or read back from Table Storage) is built through here.
        self.monthly_savings, self.annual_savings = savings_amounts(self.monthly_savings, self.annual_savings)
        self.savings_currency = normalize_currency(self.savings_currency)

    @property
    def is_subscription_level(self) -> bool:
        return not self.resource_group

    @property
    def lookback_period(self) -> str | None:
        return self.extended_properties.get("lookbackPeriod")

    @property
    def term(self) -> str | None:
        return self.extended_properties.get("term")

    @property
    def is_reservation(self) -> bool:
        """Reservation purchase recommendations repeat once per lookback period and term."""
        ext = self.extended_properties
        return bool(ext.get("reservedResourceType")) or "reserv" in ext.get("recommendationType", "").lower()

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("monthly_savings", "annual_savings"):
            data[key] = None if data[key] is None else str(data[key])
        data["last_updated"] = self.last_updated.isoformat() if self.last_updated else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recommendation:
        data = dict(data)
        for key in ("monthly_savings", "annual_savings"):
            data[key] = parse_money(data.get(key))
        if data.get("last_updated"):
            data["last_updated"] = datetime.fromisoformat(data["last_updated"])
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class ReportFilters:
    """What a report asks for. Categories/impacts are internal names; empty means all."""

    categories: tuple[str, ...] = ()
    impacts: tuple[str, ...] = ()
    resource_groups: tuple[str, ...] = ()

    def matches(self, rec: Recommendation) -> bool:
        if self.categories and rec.category not in self.categories:
            return False
        if self.impacts and rec.impact not in self.impacts:
            return False
        if self.resource_groups and rec.resource_group.lower() not in {
            g.lower() for g in self.resource_groups
        }:
            return False
        return True

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "categories": list(self.categories),
            "impacts": list(self.impacts),
            "resourceGroups": list(self.resource_groups),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ReportFilters:
        data = data or {}
        return cls(
            categories=tuple(data.get("categories") or ()),
            impacts=tuple(data.get("impacts") or ()),
            resource_groups=tuple(data.get("resourceGroups") or data.get("resource_groups") or ()),
        )

    def for_report_type(self, report_type: ReportType) -> ReportFilters:
        """Narrow the categories to what the report type covers."""
        allowed = report_type.categories
        if allowed is None:
            return self
        cats = tuple(c for c in (self.categories or allowed) if c in allowed)
        return dataclasses.replace(self, categories=cats or allowed)


@dataclass
class Report:
    """A report's state as stored in the reports table and shown to API callers."""

    report_id: str
    report_type: ReportType
    subscription_ids: list[str]
    formats: list[str] = field(default_factory=lambda: ["html", "pdf"])
    filters: ReportFilters = field(default_factory=ReportFilters)
    status: ReportStatus = ReportStatus.PENDING
    customer: str = ""
    customer_id: str = ""  # the registered customer the report covers, if it was asked for by customer
    accent_color: str = ""  # that customer's branding colour (#rrggbb) when the report was asked for
    logo_content_type: str = ""  # set when the customer's logo was copied to the report's files
    provider_name: str = ""  # who prepared the report (REPORT_PROVIDER_NAME when it was asked for)
    provider_logo_content_type: str = ""  # set when the provider's logo was copied likewise
    source: str = "api"  # "api" or "csv"
    csv_category: str = ""  # a per-category CSV export's category (it has no Category column)
    requested_at: datetime | None = None
    fetched_at: datetime | None = None
    completed_at: datetime | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    recommendation_count: int = 0
    api_pages: int = 0
    counts_by_category: dict[str, int] = field(default_factory=dict)
    counts_by_impact: dict[str, int] = field(default_factory=dict)
    savings_by_currency: dict[str, Any] = field(default_factory=dict)  # currency -> {monthly, annual}
    savings_note: str = ""
    durations: dict[str, float] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # format -> blob name
    skipped_subscriptions: dict[str, str] = field(default_factory=dict)  # id -> reason
    instance_id: str = ""
    schedule_id: str = ""  # the schedule that started it, if a schedule did
    retention_days: int = 0  # days its data is kept; 0: REPORT_RETENTION_DAYS (a schedule may keep more)
    # The caller's callback URL (a secret: it may carry a signature; never shown or logged) and
    # how delivering the finished report to it went (shared/callbacks.py).
    callback_url: str = ""
    callback: CallbackState | None = None


class CallbackStatus(StrEnum):
    PENDING = "pending"  # the report is not finished yet
    RETRYING = "retrying"  # an attempt failed in a way worth retrying
    DELIVERED = "delivered"
    FAILED = "failed"  # refused for good, or the retries ran out

    @property
    def final(self) -> bool:
        return self in (CallbackStatus.DELIVERED, CallbackStatus.FAILED)


@dataclass
class CallbackState:
    """How delivering a report to its callback URL went: never the URL itself."""

    status: CallbackStatus = CallbackStatus.PENDING
    attempts: int = 0
    delivered_at: datetime | None = None
    last_error: str = ""
