"""Blob Storage for report files (``{reportId}/...`` in the reports container) and uploads.

Files are written with their content type and overwritten on retry (idempotent). Downloads go
through short-lived, read-only SAS URLs: signed with the account key when the app has a
connection string (Azurite, key-based accounts), with a user delegation key when it runs with
a managed identity (no keys at all).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import IO, Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, ContentSettings, generate_blob_sas

from .errors import InvalidInputError
from .table_store import classify_storage_error

CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


def report_blob_name(report_id: str, filename: str) -> str:
    if "/" in report_id or ".." in filename or "/" in filename:
        raise InvalidInputError("invalid report file name", field="filename")
    return f"{report_id}/{filename}"


class BlobStore:
    """One container; the service client is built once and shared."""

    def __init__(self, service: BlobServiceClient, container: str) -> None:
        self._service = service
        self.container = container
        self._container = service.get_container_client(container)
        self._ensured = False

    @classmethod
    def from_connection_string(cls, connection_string: str, container: str) -> BlobStore:
        return cls(BlobServiceClient.from_connection_string(connection_string), container)

    def _ensure(self) -> None:
        if self._ensured:
            return
        try:
            self._container.create_container()
        except ResourceExistsError:
            pass
        except HttpResponseError as exc:
            raise classify_storage_error(exc, f"creating container {self.container}") from None
        self._ensured = True

    def upload(
        self,
        blob_name: str,
        data: bytes | IO[bytes],
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> str:
        self._ensure()
        kind = blob_name.rsplit(".", 1)[-1].lower()
        settings = ContentSettings(
            content_type=content_type or CONTENT_TYPES.get(kind, "application/octet-stream")
        )
        try:
            self._container.upload_blob(
                blob_name,
                data,
                overwrite=True,
                content_settings=settings,
                metadata=metadata,
                max_concurrency=2,
            )
        except HttpResponseError as exc:
            raise classify_storage_error(exc, f"uploading {blob_name}") from None
        return blob_name

    def download(self, blob_name: str) -> bytes:
        try:
            return self._container.download_blob(blob_name).readall()
        except ResourceNotFoundError:
            raise
        except HttpResponseError as exc:
            raise classify_storage_error(exc, f"downloading {blob_name}") from None

    def download_to(self, blob_name: str, stream: IO[bytes]) -> int:
        return self._container.download_blob(blob_name).readinto(stream)

    def exists(self, blob_name: str) -> bool:
        return self._container.get_blob_client(blob_name).exists()

    def properties(self, blob_name: str) -> Any:
        return self._container.get_blob_client(blob_name).get_blob_properties()

    def delete_prefix(self, prefix: str) -> int:
        """Delete every blob whose name starts with ``prefix`` (none in a container that does
        not exist); a blob deleted meanwhile by someone else is not an error."""
        if not prefix:
            raise ValueError("an empty prefix would delete the whole container")
        try:
            names = [b.name for b in self._container.list_blobs(name_starts_with=prefix)]
        except ResourceNotFoundError:
            return 0
        except HttpResponseError as exc:
            raise classify_storage_error(exc, f"listing {self.container}") from None
        return sum(self.delete(name) for name in names)

    def delete(self, blob_name: str) -> bool:
        try:
            self._container.delete_blob(blob_name, delete_snapshots="include")
        except ResourceNotFoundError:
            return False
        except HttpResponseError as exc:
            raise classify_storage_error(exc, f"deleting {blob_name}") from None
        return True

    def sas_url(
        self,
        blob_name: str,
        *,
        minutes: int = 15,
        download_name: str | None = None,
        content_disposition: str | None = None,
    ) -> str:
        """A read-only URL valid for ``minutes`` (with a small allowance for clock skew); the
        download is saved as ``download_name`` (plain ASCII), or as the whole
        ``Content-Disposition`` given (signed into the SAS, which the service answers with)."""
        now = datetime.now(UTC)
        start, expiry = now - timedelta(minutes=5), now + timedelta(minutes=minutes)
        extra: dict[str, Any] = {}
        if content_disposition:
            extra["content_disposition"] = content_disposition
        elif download_name:
            extra["content_disposition"] = f'attachment; filename="{download_name}"'
        credential = self._service.credential
        account_key = getattr(credential, "account_key", None)
        signing: dict[str, Any]
        if account_key:
            signing = {"account_key": account_key}
        else:
            signing = {"user_delegation_key": self._service.get_user_delegation_key(start, expiry)}
        token = generate_blob_sas(
            account_name=self._service.account_name or "",
            container_name=self.container,
            blob_name=blob_name,
            permission=BlobSasPermissions(read=True),
            expiry=expiry,
            start=start,
            **signing,
            **extra,
        )
        return f"{self._container.get_blob_client(blob_name).url}?{token}"
