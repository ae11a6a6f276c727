"""What the report pipeline needs from storage, as small interfaces.

``shared.table_store.TableStore`` and ``shared.blob_store.BlobStore`` are the production
implementations (Azure Table and Blob Storage); the unit tests use in-memory fakes with the
same methods (``tests/fakes.py``). Only the methods the pipeline calls are listed, so a fake
stays small and a new storage call is a visible change to the interface.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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


class FileStore(Protocol):
    """Named files (report files, the summary, uploaded CSVs)."""

    def upload(self, blob_name: str, data: bytes | IO[bytes], *, content_type: str | None = None) -> str: ...

    def download(self, blob_name: str) -> bytes: ...

    def exists(self, blob_name: str) -> bool: ...

    def delete_prefix(self, prefix: str) -> int: ...
