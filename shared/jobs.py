"""Typed payloads that cross the orchestration boundary: the report job the orchestrator
runs, and each activity's input and result.

These go into orchestration history and are replayed, so they hold ids, counts and blob
names only, a few hundred bytes each (docs/architecture.md, rule 1). ``to_dict`` / ``from_dict`` are the
only place they become JSON; ``from_dict`` validates, so a malformed input fails clearly.
Pure: no I/O, safe to import from orchestrators.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar, cast

from .errors import InvalidInputError
from .models import is_guid
from .report_request import EXPORT_FORMATS as EXPORT_FORMATS  # for the orchestrator, which imports jobs only
from .report_request import FORMATS, MAX_SUBSCRIPTIONS

J = TypeVar("J", bound="Payload")


class Payload:
    """dict conversion for the dataclasses below (camelCase is not worth the noise here)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(cast(Any, self))  # Payload is only ever mixed into dataclasses

    @classmethod
    def from_dict(cls: type[J], data: Any) -> J:
        if not isinstance(data, dict):
            raise InvalidInputError(f"{cls.__name__} input must be an object", field="input")
        declared = fields(cast(Any, cls))  # Payload is only ever mixed into dataclasses
        names = {f.name for f in declared}
        missing = [f.name for f in declared if f.name not in data and _required(f)]
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
class RetrySpec(Payload):
    """The durable retry policy for activity calls: attempts in all and the fixed interval
    between them (the host applies no backoff for the Python SDK's RetryOptions)."""

    attempts: int = 3
    interval_ms: int = 60_000

    def validate(self) -> None:
        if self.attempts < 1 or self.interval_ms < 1:
            raise InvalidInputError("retry attempts and interval must be positive", field="retry")


@dataclass
class ReportStart(Payload):
    """The orchestration input: the report's id and nothing else. Whoever starts an
    orchestration (our trigger, or anyone holding the extension's system key), the orchestrator
    acts only on what ``begin_report`` reads for that id from the reports table."""

    report_id: str

    def validate(self) -> None:
        if not is_guid(self.report_id):
            raise InvalidInputError("report_id must be a report's GUID", field="report_id")


@dataclass
class BeginInput(Payload):
    report_id: str
    instance_id: str


@dataclass
class ReportJob(Payload):
    """Control data for one report run, read from the report entity by ``begin_report``: what
    to fetch, what to render, and the retry and timeout settings (so the orchestrator never
    reads the environment). What the report *is* (type, filters, customer) stays on the entity,
    which the activities read by id."""

    report_id: str
    formats: list[str]
    subscription_ids: list[str] = field(default_factory=list)
    source: str = "api"  # "api" or "csv"
    retry: RetrySpec = field(default_factory=RetrySpec)
    fetch_timeout_s: int = 600
    callback: bool = False  # whether the report has a callback to deliver (never its URL)

    @classmethod
    def from_dict(cls, data: Any) -> ReportJob:
        if isinstance(data, dict) and isinstance(data.get("retry"), dict):
            data = {**data, "retry": RetrySpec.from_dict(data["retry"])}
        return super().from_dict(data)

    def validate(self) -> None:
        if not self.report_id:
            raise InvalidInputError("report_id is required", field="report_id")
        if not self.formats or any(f not in FORMATS for f in self.formats):
            raise InvalidInputError(
                f"formats must be a non-empty subset of {', '.join(FORMATS)}", field="formats"
            )
        if self.source == "api":
            if not 1 <= len(self.subscription_ids) <= MAX_SUBSCRIPTIONS or not all(
                map(is_guid, self.subscription_ids)
            ):
                raise InvalidInputError("subscription_ids must hold 1 to 500 GUIDs", field="subscription_ids")
        elif self.source != "csv":
            raise InvalidInputError(f"unknown source {self.source!r}", field="source")
        if not isinstance(self.retry, RetrySpec):
            raise InvalidInputError("retry must be a retry policy", field="retry")
        if self.fetch_timeout_s < 1:
            raise InvalidInputError("fetch_timeout_s must be positive", field="fetch_timeout_s")


@dataclass
class BeginResult(Payload):
    """``ok`` with the job, or why this orchestration must not act on the report (unknown id,
    another instance's report, already finished)."""

    ok: bool
    job: dict[str, Any] | None = None
    reason: str = ""


@dataclass
class FetchInput(Payload):
    report_id: str
    subscription_id: str


@dataclass
class FetchStep(Payload):
    """Input of the per-subscription sub-orchestration, which owns the fetch's retries."""

    report_id: str
    subscription_id: str
    retry: dict[str, int] = field(default_factory=dict)


@dataclass
class StepInput(Payload):
    """Input of the generic step sub-orchestration: one activity, retried, always an outcome."""

    activity: str
    input: dict[str, Any]
    retry: dict[str, int] = field(default_factory=dict)


@dataclass
class StepOutcome(Payload):
    ok: bool
    result: Any = None
    error: str = ""


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


@dataclass
class OutcomeRecord(Payload):
    """A fetch outcome the sub-orchestration records itself: the fetch's retries ran out, so
    the activity never got to write its row."""

    report_id: str
    outcome: dict[str, Any]


@dataclass
class StatusUpdate(Payload):
    report_id: str
    status: str
    failure_code: str = ""
    failure_message: str = ""


@dataclass
class SummarizeInput(Payload):
    """Who was left out is not passed here: ``summarize_report`` reads it from the
    per-subscription outcome rows, so this input stays small however many failed."""

    report_id: str
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
    fmt: str  # "html", "pdf", "xlsx" or "csv"
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


@dataclass
class CallbackInput(Payload):
    """Deliver the finished report to its callback: the URL is read from the report entity,
    never passed through history. ``attempts`` is the retry policy's, so the last attempt
    knows to record the delivery as failed."""

    report_id: str
    attempts: int = 1


@dataclass
class CallbackOutcome(Payload):
    report_id: str
    status: str  # a CallbackStatus value, or "none" when the report has no callback
    attempts: int = 0
