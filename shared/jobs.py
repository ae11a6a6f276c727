"""Typed payloads that cross the orchestration boundary: the report job the orchestrator
runs, and each activity's input and result.

These go into orchestration history and are replayed, so they hold ids, counts and blob
names only, a few hundred bytes each (DESIGN.md rule 1). ``to_dict`` / ``from_dict`` are the
only place they become JSON; ``from_dict`` validates, so a malformed input fails clearly.
Pure: no I/O, safe to import from orchestrators.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from .errors import InvalidInputError
from .models import ReportFilters, ReportType, is_guid
from .report_request import FORMATS, MAX_SUBSCRIPTIONS

J = TypeVar("J", bound="Payload")


class Payload:
    """dict conversion for the dataclasses below (camelCase is not worth the noise here)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[J], data: Any) -> J:
        if not isinstance(data, dict):
            raise InvalidInputError(f"{cls.__name__} input must be an object", field="input")
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        missing = [f.name for f in fields(cls) if f.name not in data and _required(f)]  # type: ignore[arg-type]
        if missing:
            raise InvalidInputError(f"{cls.__name__} input lacks {missing[0]}", field=missing[0])
        obj = cls(**{k: v for k, v in data.items() if k in names})
        obj.validate()
        return obj

    def validate(self) -> None:  # overridden where there is something to check
        return None


def _required(f: Any) -> bool:
    from dataclasses import MISSING

    return f.default is MISSING and f.default_factory is MISSING


@dataclass
class ReportJob(Payload):
    """The orchestration input. Retry and timeout settings ride along so the orchestrator
    stays free of I/O (it never reads the environment)."""

    report_id: str
    report_type: str
    formats: list[str]
    subscription_ids: list[str] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    source: str = "api"  # "api" or "csv"
    csv_blob: str = ""
    csv_default_category: str = ""  # for per-category exports, which have no Category column
    customer: str = ""
    retry_attempts: int = 3
    retry_interval_ms: int = 60_000
    fetch_timeout_s: int = 600

    def validate(self) -> None:
        if not self.report_id:
            raise InvalidInputError("report_id is required", field="report_id")
        ReportType(self.report_type)  # raises ValueError on an unknown type
        if not self.formats or any(f not in FORMATS for f in self.formats):
            raise InvalidInputError("formats must be a non-empty subset of html, pdf", field="formats")
        if self.source == "api":
            if not 1 <= len(self.subscription_ids) <= MAX_SUBSCRIPTIONS or not all(
                map(is_guid, self.subscription_ids)
            ):
                raise InvalidInputError("subscription_ids must hold 1 to 500 GUIDs", field="subscription_ids")
        elif self.source == "csv":
            if not self.csv_blob:
                raise InvalidInputError("csv_blob is required for a CSV report", field="csv_blob")
        else:
            raise InvalidInputError(f"unknown source {self.source!r}", field="source")
        if self.retry_attempts < 1 or self.retry_interval_ms < 0 or self.fetch_timeout_s < 1:
            raise InvalidInputError("retry and timeout settings must be positive", field="retry_attempts")

    @property
    def report_filters(self) -> ReportFilters:
        return ReportFilters.from_dict(self.filters).for_report_type(ReportType(self.report_type))


@dataclass
class FetchInput(Payload):
    report_id: str
    subscription_id: str
    filters: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class FetchOutcome(Payload):
    """What fetching one subscription (or importing the CSV) produced: counts, never the
    recommendations. ``ok`` false carries a permanent failure's code and sanitized reason."""

    subscription_id: str
    ok: bool
    count: int = 0
    pages: int = 0
    seconds: float = 0.0
    failure_code: str | None = None
    failure_message: str | None = None


@dataclass
class CsvImportInput(Payload):
    report_id: str
    csv_blob: str
    filters: dict[str, list[str]] = field(default_factory=dict)
    default_category: str = ""


@dataclass
class StatusUpdate(Payload):
    report_id: str
    status: str
    failure_code: str = ""
    failure_message: str = ""


@dataclass
class SummarizeInput(Payload):
    report_id: str
    skipped: dict[str, str] = field(default_factory=dict)  # subscription id -> reason
    api_pages: int = 0
    fetch_seconds: float = 0.0


@dataclass
class SummaryResult(Payload):
    report_id: str
    recommendation_count: int
    pdf_parts: int
    summary_blob: str


@dataclass
class RenderInput(Payload):
    report_id: str
    fmt: str  # "html" or "pdf"
    part: int = 0  # PDF part index; 0 for HTML


@dataclass
class RenderResult(Payload):
    report_id: str
    fmt: str
    part: int
    blob: str
    size: int
    seconds: float


@dataclass
class AssembleInput(Payload):
    report_id: str
    part_blobs: list[str]


@dataclass
class FinalizeInput(Payload):
    report_id: str
    files: dict[str, str]  # format -> blob name
    durations: dict[str, float] = field(default_factory=dict)
