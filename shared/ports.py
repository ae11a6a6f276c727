"""What the report pipeline needs from storage, as small interfaces.

``shared.table_store.TableStore`` and ``shared.blob_store.BlobStore`` are the production
implementations (Azure Table and Blob Storage); the unit tests use in-memory fakes with the
same methods (``tests/fakes.py``). Only the methods the pipeline calls are listed, so a fake
stays small and a new storage call is a visible change to the interface.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Protocol

from .models import Recommendation, Report


class ReportTable(Protocol):
    """Reports, their recommendations and the per-subscription fetch outcomes."""

    def get_report(self, report_id: str) -> Report | None: ...

    def save_report(self, report: Report) -> bool:
        """Write the report; False when it was finished already and the write was dropped."""
        ...

    def create_report(self, report: Report) -> bool:
        """Write a new report only if none has its id; False (nothing written) if one has."""
        ...

    def save_recommendations(self, report_id: str, recs: Iterable[Recommendation]) -> int: ...

    def iter_recommendations(self, report_id: str) -> Iterator[Recommendation]: ...

    def record_subscription_outcome(
        self, report_id: str, subscription_id: str, outcome: dict[str, Any]
    ) -> None: ...

    def subscription_outcomes(self, report_id: str) -> list[dict[str, Any]]: ...

    def delete_recommendations(self, report_id: str, *, subscription_id: str | None = None) -> int: ...

    def list_reports(
        self,
        *,
        status: str | None = None,
        customer_id: str | None = None,
        limit: int = 50,
        continuation_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Index rows newest first (``report_id``, ``status``, ``report_type``, ``customer_id``,
        ``requested_at``) and a continuation token."""
        ...


class FileStore(Protocol):
    """Named files (report files, the summary, uploaded CSVs)."""

    def upload(self, blob_name: str, data: bytes | IO[bytes], *, content_type: str | None = None) -> str: ...

    def download(self, blob_name: str) -> bytes: ...

    def exists(self, blob_name: str) -> bool: ...

    def delete_prefix(self, prefix: str) -> int: ...

    def delete(self, blob_name: str) -> bool:
        """Delete one file; False when it was not there (deleting is idempotent)."""
        ...


@dataclass(frozen=True)
class ReportAge:
    """What retention needs to know of a stored report to tell whether it is due: when it was
    asked for (None when that cannot be read) and its own retention in days (0: the default)."""

    report_id: str
    requested_at: datetime | None
    retention_days: int = 0


class ReportRemoval(Protocol):
    """What deleting a report needs of the report store (shared/retention.py)."""

    def get_report(self, report_id: str) -> Report | None: ...

    def update_report(self, report_id: str, change: Callable[[Report], bool]) -> Report | None: ...

    def report_ages(self) -> Iterator[ReportAge]: ...

    def delete_report_data(self, report_id: str) -> int:
        """Every row keyed by the report except the report itself."""
        ...

    def delete_report(self, report_id: str) -> bool:
        """The report entity (and its listing row): the last thing of a report to go."""
        ...
