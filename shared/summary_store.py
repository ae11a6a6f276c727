"""The full report summary (groups and their resource rows) as a compact JSON document.

The summarize step computes the summary once from Table Storage and writes it to Blob
Storage with :func:`dump_summary` (beside it, the PDF part plan, ``rendering.dump_pdf_plan``);
every render step (HTML, each PDF part) reads it back with :func:`load_summary` instead of
re-reading and re-summarizing thousands of entities. The document holds the headline part
(``ReportSummary.to_dict()``) and every group with its rows; it never goes through
orchestration history, which carries only the blob's name.

Rows are stored as positional lists (field order from the dataclass), which keeps 15,000
rows to a few MB and makes loading them fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from .models import parse_money
from .summary import RecommendationGroup, ReportSummary, ResourceRow, SavingsTotal

FORMAT_VERSION = 1

_ROW_FIELDS = [(f.name, str(f.type)) for f in fields(ResourceRow)]
_GROUP_SCALARS = [f.name for f in fields(RecommendationGroup) if f.name not in ("rows", "savings")]


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _decoder(type_name: str) -> Callable[[Any], Any]:
    if "Decimal" in type_name:
        return parse_money
    if "datetime" in type_name:
        return lambda v: datetime.fromisoformat(v) if v else None
    return lambda v: v


_ROW_DECODERS = [_decoder(t) for _, t in _ROW_FIELDS]


def dump_summary(summary: ReportSummary) -> bytes:
    if not summary.has_rows:
        raise ValueError("only a summary built from recommendations (with rows) can be stored in full")
    doc = {
        "formatVersion": FORMAT_VERSION,
        "summary": summary.to_dict(),
        "subscriptionNames": summary.subscription_names,
        "rowFields": [name for name, _ in _ROW_FIELDS],
        "groups": [
            {
                **{name: getattr(group, name) for name in _GROUP_SCALARS},
                "savings": [s.to_dict() for s in group.savings.values()],
                "rows": [[_encode(getattr(row, name)) for name, _ in _ROW_FIELDS] for row in group.rows],
            }
            for group in summary.groups
        ],
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def load_summary(data: bytes) -> ReportSummary:
    doc = json.loads(data)
    if doc.get("formatVersion") != FORMAT_VERSION:
        raise ValueError(f"unknown summary format {doc.get('formatVersion')!r}")
    if doc["rowFields"] != [name for name, _ in _ROW_FIELDS]:
        raise ValueError("the stored summary was written by another version of the app")
    summary = ReportSummary.from_dict(doc["summary"])
    summary.subscription_names = dict(doc.get("subscriptionNames") or {})
    names = [name for name, _ in _ROW_FIELDS]
    groups = []
    for g in doc["groups"]:
        group = RecommendationGroup(**{name: g[name] for name in _GROUP_SCALARS})
        group.savings = {s["currency"]: SavingsTotal.from_dict(s) for s in g["savings"]}
        group.rows = [
            ResourceRow(
                **{name: dec(value) for name, dec, value in zip(names, _ROW_DECODERS, raw, strict=True)}
            )
            for raw in g["rows"]
        ]
        groups.append(group)
    summary.groups = groups
    summary.has_rows = True
    return summary
