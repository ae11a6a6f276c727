"""Key Vault as the store of subscriptions' client secrets (azure-keyvault-secrets).

Writing a secret that exists adds a version (Key Vault keeps the old ones); deleting one is a
soft delete, which we wait for and then purge, so a subscription registered again later can
reuse the name. A vault with purge protection (or an identity without the purge permission)
keeps the deleted secret until its retention ends; we log that and carry on. Errors name the
secret, never its value.
"""

from __future__ import annotations

import logging
from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from .errors import PermanentError, TransientError

log = logging.getLogger(__name__)

# Short enough that an unreachable vault fails a request in seconds, not minutes.
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 10
DELETE_POLL_SECONDS = 0.2
DELETE_WAIT_SECONDS = 20


def _classify(exc: Exception, what: str) -> Exception:
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return TransientError(f"Key Vault unreachable while {what}", code="key_vault_unreachable")
    if isinstance(exc, ClientAuthenticationError):
        return PermanentError(f"Not allowed to use Key Vault while {what}", code="key_vault_forbidden")
    status = getattr(exc, "status_code", None) or 0
    if status in (429, 500, 502, 503, 504):
        return TransientError(f"Key Vault busy while {what} (HTTP {status})", code="key_vault_unavailable")
    if status == 403:
        return PermanentError(f"Not allowed to use Key Vault while {what}", code="key_vault_forbidden")
    return PermanentError(f"Key Vault refused {what} (HTTP {status or '?'})", code="key_vault")


class SubscriptionSecrets:
    """Client secrets in one vault; the SecretClient is built once and shared."""

    def __init__(self, vault_url: str, credential: Any, *, ca_bundle: str = "") -> None:
        from azure.keyvault.secrets import SecretClient

        kwargs: dict[str, Any] = {
            "connection_timeout": CONNECT_TIMEOUT_SECONDS,
            "read_timeout": READ_TIMEOUT_SECONDS,
            "retry_total": 2,
        }
        if ca_bundle:
            kwargs["connection_verify"] = ca_bundle
        if not vault_url.rstrip("/").endswith(
            (".vault.azure.net", ".vault.azure.cn", ".vault.usgovcloudapi.net")
        ):
            # A local stand-in is not *.vault.azure.net; the challenge's resource cannot match it.
            kwargs["verify_challenge_resource"] = False
        self._client = SecretClient(vault_url, credential, **kwargs)

    def write(self, name: str, value: str, *, tags: dict[str, str] | None = None) -> str:
        """Write ``value`` as the newest version of ``name``; returns the version id."""
        try:
            return str(self._client.set_secret(name, value, tags=tags).properties.version)
        except HttpResponseError as exc:
            if exc.status_code == 409:  # deleted but not purged yet: purge, then write
                self._purge(name)
                try:
                    return str(self._client.set_secret(name, value, tags=tags).properties.version)
                except HttpResponseError as again:
                    raise _classify(again, f"writing secret {name!r}") from None
            raise _classify(exc, f"writing secret {name!r}") from None
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise _classify(exc, f"writing secret {name!r}") from None

    def read(self, name: str) -> str:
        try:
            value = self._client.get_secret(name).value
        except ResourceNotFoundError:
            raise PermanentError(
                f"Key Vault secret {name!r} does not exist", code="secret_not_found"
            ) from None
        except (HttpResponseError, ServiceRequestError, ServiceResponseError) as exc:
            raise _classify(exc, f"reading secret {name!r}") from None
        if not value:
            raise PermanentError(f"Key Vault secret {name!r} is empty", code="secret_not_found")
        return value

    def delete(self, name: str) -> bool:
        """Delete (and purge) ``name``; False if there was no such secret."""
        try:
            poller = self._client.begin_delete_secret(name, _polling_interval=DELETE_POLL_SECONDS)
            poller.wait(timeout=DELETE_WAIT_SECONDS)
        except ResourceNotFoundError:
            return False
        except (HttpResponseError, ServiceRequestError, ServiceResponseError) as exc:
            raise _classify(exc, f"deleting secret {name!r}") from None
        self._purge(name)
        return True

    def _purge(self, name: str) -> None:
        try:
            self._client.purge_deleted_secret(name)
        except ResourceNotFoundError:
            pass
        except (HttpResponseError, ServiceRequestError, ServiceResponseError) as exc:
            # Purge protection, or no purge permission: the deleted secret stays recoverable
            # until its retention ends. It is deleted all the same.
            log.warning("Key Vault secret %r was deleted but not purged (%s)", name, type(exc).__name__)
