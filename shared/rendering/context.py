"""The template context of a report: what the HTML and PDF templates print, and nothing else.

``build_report_context(report_meta, summary, generated_at)`` turns the report's metadata
(type, title, customer, subscriptions) and a :class:`~shared.summary.ReportSummary`
into a plain dict. The generation time is passed in, never read from the clock here, so the
same inputs always render the same report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.models import CATEGORIES, IMPACTS, ReportFilters, ReportType, category_label
from shared.summary import RecommendationGroup, ReportSummary, impact_rank

from .environment import CATEGORY_COLORS, IMPACT_COLORS, format_datetime, impact_label
from .logo import KINDS as _LOGO_KINDS
from .logo import CoverLogo

_LOGO_PREFIXES = tuple(f"data:{kind};base64," for kind in _LOGO_KINDS)


def _inline(logo: CoverLogo | None) -> CoverLogo | None:
    """Only a logo that is an inline image of a kind we accept reaches a template."""
    return logo if logo and logo.uri.startswith(_LOGO_PREFIXES) else None


TOP_GROUPS_EXECUTIVE = 10


@dataclass(frozen=True)
class ReportTypeInfo:
    label: str
    audience: str
    description: str


REPORT_TYPES: dict[ReportType, ReportTypeInfo] = {
    ReportType.DETAILED: ReportTypeInfo(
        "Detailed report",
        "Engineers",
        "Every recommendation, grouped by recommendation type, with every affected resource.",
    ),
    ReportType.EXECUTIVE: ReportTypeInfo(
        "Executive summary",
        "Leadership",
        "Headline numbers, where the risks and the savings are, and the recommendations that matter most.",
    ),
    ReportType.COST: ReportTypeInfo(
        "Cost optimization report",
        "FinOps",
        "Savings opportunities per resource: SKU changes, shutdowns, reservations and savings plans.",
    ),
    ReportType.SECURITY: ReportTypeInfo(
        "Security report",
        "Security teams",
        "Security recommendations and the resources they affect.",
    ),
    ReportType.OPERATIONS: ReportTypeInfo(
        "Operations report",
        "Platform and operations teams",
        "Reliability, operational excellence and performance recommendations and the resources they affect.",
    ),
}


@dataclass(frozen=True)
class ReportMeta:
    """What a report is: its type, title and scope (the report entity's metadata). The filters
    are not here: the context shows the ones the summary was computed with (``summary.filters``,
    the report's effective filters), so the page cannot claim filters its numbers did not use."""

    report_type: ReportType
    title: str = ""
    customer: str = ""
    subscriptions: Mapping[str, str] = field(default_factory=dict)  # id -> display name ("" unknown)
    requested_at: datetime | None = None
    report_id: str = ""
    accent_color: str = ""  # the customer's branding colour, #rrggbb; "" for the default
    logo: CoverLogo | None = None  # the customer's logo, inline
    provider: str = ""  # who prepared the report
    provider_logo: CoverLogo | None = None

    @classmethod
    def coerce(cls, value: ReportMeta | Mapping[str, Any]) -> ReportMeta:
        if isinstance(value, ReportMeta):
            return value
        data = dict(value)
        subscriptions = data.get("subscriptions") or {}
        if not isinstance(subscriptions, Mapping):  # a list of ids
            subscriptions = {str(s): "" for s in subscriptions}
        return cls(
            report_type=ReportType(data.get("report_type") or data.get("reportType") or "detailed"),
            title=str(data.get("title") or ""),
            customer=str(data.get("customer") or ""),
            subscriptions={str(k): str(v or "") for k, v in subscriptions.items()},
            requested_at=_datetime(data.get("requested_at") or data.get("requestedAt")),
            report_id=str(data.get("report_id") or data.get("reportId") or ""),
            accent_color=str(data.get("accent_color") or data.get("accentColor") or ""),
        )


def _datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    text = str(value).strip()
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


DEFAULT_ACCENT = "#1d6fb8"
_COLOUR = re.compile(r"#[0-9a-f]{6}")


def accent_color(value: str) -> str:
    """The colour the cover's accents take: the customer's when it is a plain ``#rrggbb`` (it
    goes into CSS, so nothing else passes), else the default."""
    colour = value.strip().lower()
    return colour if _COLOUR.fullmatch(colour) else DEFAULT_ACCENT


def shows_resources(report_type: ReportType) -> bool:
    """Whether a report of this type lists every affected resource (all but the executive
    summary, which shows the top recommendation types only). The PDF plan and the templates
    both follow this."""
    return report_type is not ReportType.EXECUTIVE


def default_title(report_type: ReportType, customer: str) -> str:
    label = REPORT_TYPES[report_type].label
    return f"Azure Advisor {label[0].lower() + label[1:]}" + (f" for {customer}" if customer else "")


def report_title(meta: ReportMeta) -> str:
    """The title the report prints (and the PDF carries in its metadata and footer)."""
    return meta.title.strip() or default_title(meta.report_type, meta.customer.strip())


def _filters_applied(filters: ReportFilters, report_type: ReportType) -> list[dict[str, str]]:
    items: list[dict[str, str]] = []
    covered = report_type.categories
    if filters.categories and (covered is None or tuple(filters.categories) != tuple(covered)):
        items.append(
            {"label": "Categories", "value": ", ".join(category_label(c) for c in filters.categories)}
        )
    elif covered is not None:
        items.append(
            {"label": "Categories (report type)", "value": ", ".join(category_label(c) for c in covered)}
        )
    if filters.impacts:
        items.append({"label": "Impact", "value": ", ".join(impact_label(i) for i in filters.impacts)})
    if filters.resource_groups:
        items.append({"label": "Resource groups", "value": ", ".join(filters.resource_groups)})
    return items


def _breakdown(counts: Mapping[str, int], keys: list[str], total: int) -> list[dict[str, Any]]:
    peak = max((counts.get(k, 0) for k in keys), default=0) or 1
    return [
        {
            "key": key,
            "count": counts.get(key, 0),
            "share": round(100 * counts.get(key, 0) / total) if total else 0,
            "bar": round(100 * counts.get(key, 0) / peak),
        }
        for key in keys
    ]


def _check_summary(summary: ReportSummary, report_type: ReportType) -> None:
    covered = report_type.categories
    if covered is not None:
        outside = [c for c, n in summary.counts_by_category.items() if n and c not in covered]
        if outside:
            raise ValueError(
                f"the summary holds categories {outside} that a {report_type.value} report does not "
                "cover; summarize with the report's effective filters (pipeline.report_filters)"
            )
    if shows_resources(report_type) and not summary.has_rows and summary.total:
        raise ValueError("a summary rebuilt from its dict form has no resource rows to render")


def top_groups(groups: list[RecommendationGroup], limit: int) -> list[RecommendationGroup]:
    """The groups leadership should see first: highest impact, then most resources."""
    return sorted(groups, key=lambda g: (impact_rank(g.impact), -g.count, g.key))[:limit]


def build_report_context(
    report_meta: ReportMeta | Mapping[str, Any],
    summary: ReportSummary,
    generated_at: datetime,
) -> dict[str, Any]:
    """The context every report template renders from (HTML and PDF alike)."""
    meta = ReportMeta.coerce(report_meta)
    report_type = meta.report_type
    _check_summary(summary, report_type)
    info = REPORT_TYPES[report_type]
    filters = summary.filters

    names: dict[str, str] = dict(summary.subscription_names)
    names.update({k: v for k, v in meta.subscriptions.items() if v})
    sub_ids = list(meta.subscriptions) + [
        s for s in summary.counts_by_subscription if s not in meta.subscriptions
    ]
    subscriptions = [
        {"id": s, "name": names.get(s, ""), "count": summary.counts_by_subscription.get(s, 0)}
        for s in sub_ids
    ]

    covered = report_type.categories
    category_keys = list(covered if covered is not None else CATEGORIES)
    category_keys += [c for c in summary.counts_by_category if c not in category_keys]
    impact_keys = list(IMPACTS) + [i for i in summary.counts_by_impact if i not in IMPACTS]
    categories = _breakdown(summary.counts_by_category, category_keys, summary.total)
    for item in categories:
        item["label"] = category_label(item["key"])
        item["color"] = CATEGORY_COLORS[_color_key(item["key"])]
    impacts = _breakdown(summary.counts_by_impact, impact_keys, summary.total)
    for item in impacts:
        item["label"] = impact_label(item["key"])
        item["color"] = IMPACT_COLORS.get(item["key"], IMPACT_COLORS["other"])

    show_resources = shows_resources(report_type)
    groups = summary.groups if show_resources else top_groups(summary.groups, TOP_GROUPS_EXECUTIVE)
    title = report_title(meta)
    return {
        "report": {
            "id": meta.report_id,
            "type": report_type.value,
            "type_label": info.label,
            "audience": info.audience,
            "description": info.description,
            "title": title,
            "customer": meta.customer.strip(),
            "accent": accent_color(meta.accent_color),
            "logo": _inline(meta.logo),
            "provider": meta.provider.strip(),
            "provider_logo": _inline(meta.provider_logo),
            "generated_at": format_datetime(generated_at),
            "generated_date": generated_at.strftime("%Y-%m-%d"),
            "requested_at": format_datetime(meta.requested_at) if meta.requested_at else "",
            "show_resources": show_resources,
            "cost_columns": report_type is ReportType.COST,
        },
        "subscriptions": subscriptions,
        "sub_names": {k: v for k, v in names.items() if v},
        "filters": _filters_applied(filters, report_type),
        "totals": {
            "recommendations": summary.total,
            "received": summary.received,
            "folded": summary.folded_variants,
            "resources": summary.resource_count,
            "high": summary.high_impact,
            "groups": summary.group_count,
            "rows": summary.row_count,
        },
        "categories": categories,
        "impacts": impacts,
        "savings": summary.savings,
        "unknown_currency_count": summary.unknown_currency_count,
        "savings_note": summary.savings_note,
        "top_opportunities": summary.top_opportunities,
        "groups": groups,
        "groups_total": summary.group_count,
        "summary": summary,
    }


def _color_key(category: str) -> str:
    return category if category in CATEGORY_COLORS else "other"
