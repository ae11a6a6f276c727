"""Credentials: how the app authenticates to Key Vault and to Azure Resource Manager.

- To Key Vault (through ``KEY_VAULT_URL``) and to Storage in Azure: the app's own identity.
  In Azure that is the managed identity (``AZURE_CLIENT_ID`` names a user-assigned one); on a
  developer machine (devhost) the ``AZURE_CLIENT_ID`` / ``AZURE_TENANT_ID`` /
  ``AZURE_CLIENT_SECRET`` environment variables (EnvironmentCredential). We pick one
  explicitly instead of DefaultAzureCredential, so nothing probes the instance metadata
  endpoint on a machine that has none.
- To ARM (Advisor): when ``ADVISOR_CLIENT_SECRET_NAME`` is set, a service principal
  (``ADVISOR_TENANT_ID`` / ``ADVISOR_CLIENT_ID``) whose secret is read from Key Vault at run time
  and never stored, logged or passed through orchestration history; otherwise the app's own
  identity. Both honour ``AZURE_AUTHORITY_HOST`` (sovereign clouds, the local stand-in).
"""

from __future__ import annotations

import os
from typing import Any

from .errors import PermanentError, TransientError
from .settings import Settings


def app_identity_credential(settings: Settings) -> Any:
    from azure.identity import EnvironmentCredential, ManagedIdentityCredential

    if os.environ.get("AZURE_CLIENT_SECRET") or os.environ.get("AZURE_CLIENT_CERTIFICATE_PATH"):
        return EnvironmentCredential(authority=settings.authority_host, **_identity_kwargs(settings))
    # A user-assigned identity, if any (infra sets AZURE_CLIENT_ID to its client id).
    return ManagedIdentityCredential(client_id=settings.azure_client_id or None)


def storage_credential(settings: Settings) -> Any:
    """The credential for identity-based storage, as the host reads it for AzureWebJobsStorage:
    ``__credential: managedidentity`` with ``__clientId`` means that managed identity; otherwise
    the app's own identity (a developer's service principal through the environment, say)."""
    storage = settings.storage
    if storage.credential == "managedidentity":
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=storage.client_id or settings.azure_client_id or None)
    return app_identity_credential(settings)


def _identity_kwargs(settings: Settings) -> dict[str, Any]:
    from .settings import PUBLIC_AUTHORITY_HOST

    kwargs: dict[str, Any] = {}
    if settings.authority_host != PUBLIC_AUTHORITY_HOST:
        # A private authority (sovereign cloud stand-in, devhost) is not in Microsoft's
        # instance-discovery list; MSAL would otherwise refuse it.
        kwargs["disable_instance_discovery"] = True
    if settings.ca_bundle:
        kwargs["connection_verify"] = settings.ca_bundle
    return kwargs


def read_secret(settings: Settings, name: str, credential: Any | None = None) -> str:
    """Read one secret from Key Vault. Errors name the secret, never its value."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
    )
    from azure.keyvault.secrets import SecretClient

    if not settings.key_vault_url:
        raise PermanentError("KEY_VAULT_URL is not set, so the secret cannot be read", code="configuration")
    kwargs: dict[str, Any] = {}
    if settings.ca_bundle:
        kwargs["connection_verify"] = settings.ca_bundle
    if not settings.key_vault_url.rstrip("/").endswith(
        (".vault.azure.net", ".vault.azure.cn", ".vault.usgovcloudapi.net")
    ):
        # A local stand-in is not *.vault.azure.net; the challenge's resource cannot match it.
        kwargs["verify_challenge_resource"] = False
    client = SecretClient(settings.key_vault_url, credential or app_identity_credential(settings), **kwargs)
    try:
        value = client.get_secret(name).value
    except ResourceNotFoundError:
        raise PermanentError(f"Key Vault secret {name!r} does not exist", code="secret_not_found") from None
    except ClientAuthenticationError:
        raise PermanentError(
            f"Not allowed to read Key Vault secret {name!r}", code="authentication_failed"
        ) from None
    except ServiceRequestError:
        raise TransientError("Key Vault unreachable", code="unreachable") from None
    except HttpResponseError as exc:
        if exc.status_code in (429, 500, 502, 503, 504):
            raise TransientError(f"Key Vault busy (HTTP {exc.status_code})", code="unavailable") from None
        raise PermanentError(
            f"Key Vault refused secret {name!r} (HTTP {exc.status_code})", code="key_vault"
        ) from None
    if not value:
        raise PermanentError(f"Key Vault secret {name!r} is empty", code="secret_not_found")
    return value


def advisor_credential(settings: Settings) -> Any:
    """The credential the Advisor client uses (see module docstring)."""
    if not settings.advisor_client_secret_name:
        return app_identity_credential(settings)
    from azure.identity import ClientSecretCredential

    if not (settings.advisor_tenant_id and settings.advisor_client_id):
        raise PermanentError(
            "ADVISOR_CLIENT_SECRET_NAME is set but ADVISOR_TENANT_ID or ADVISOR_CLIENT_ID is not",
            code="configuration",
        )
    secret = read_secret(settings, settings.advisor_client_secret_name)
    return ClientSecretCredential(
        settings.advisor_tenant_id, settings.advisor_client_id, secret,
        authority=settings.authority_host, **_identity_kwargs(settings),
    )  # fmt: skip


def client_secret_credential(
    settings: Settings, tenant_id: str, client_id: str, secret: str, **kwargs: Any
) -> Any:
    """A credential for a registered subscription's own app registration (its secret just read
    from Key Vault). ``kwargs`` go to azure-identity (timeouts, retries)."""
    from azure.identity import ClientSecretCredential

    return ClientSecretCredential(
        tenant_id,
        client_id,
        secret,
        authority=settings.authority_host,
        **_identity_kwargs(settings),
        **kwargs,
    )
