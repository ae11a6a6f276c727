"""Key Vault secrets: ``GET /secrets/{name}[/{version}]``, ``PUT /secrets/{name}`` (each PUT a
new version), ``DELETE /secrets/{name}`` (a soft delete, as in every vault since soft-delete
became mandatory), ``GET /deletedsecrets/{name}`` (what the SDK's delete poller waits on) and
``DELETE /deletedsecrets/{name}`` (purge), behind Key Vault's bearer challenge and audience
check. A deleted secret's name cannot be reused until it is purged (409
ObjectIsDeletedButRecoverable), as azure-keyvault-secrets documents for ``set_secret``."""

from __future__ import annotations

import json
import time
from typing import Any

from .base import _arm_error, _BaseHandler, _Reply
from .constants import _SECRET_NAME_RE, VAULT_ERROR_CODES
from .records import _Request, _Secret


class _KeyVaultEndpoints(_BaseHandler):
    def _keyvault(
        self, req: _Request, name: str, version: str | None, body: bytes, *, deleted: bool = False
    ) -> None:
        standin = self.standin
        challenge = {
            "WWW-Authenticate": f'Bearer authorization="{standin.url}/{standin.tenant_id}", '
            f'resource="{standin.vault_resource}"'
        }
        token = self._bearer()
        if token is None:
            raise _arm_error(
                401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", challenge
            )
        with standin._lock:
            issued = standin._tokens.get(token)
        if issued is None or issued.expires_at <= time.time():
            raise _arm_error(401, "Unauthorized", "AKV10032: Invalid issuer or token expired.", challenge)
        if issued.audience.lower() not in (standin.vault_resource.lower(), standin.url.lower()):
            raise _arm_error(
                401,
                "Unauthorized",
                f"AKV10022: Invalid audience. Expected {standin.vault_resource}, found: {issued.audience}.",
                challenge,
            )
        req.client_id = issued.client_id
        fault = standin._take_fault(req)
        if fault:
            req.fault = fault
            if fault.malformed:
                self._answer(req, 200, raw=b'{"value": "')
                return
            if fault.status is not None:
                status = int(fault.status)
                headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                if status == 429 and "Retry-After" not in headers:
                    headers["Retry-After"] = "1"
                code = fault.code or VAULT_ERROR_CODES.get(status, f"Http{status}")
                raise _arm_error(
                    status, code, fault.message or f"Injected {status} from the stand-in.", headers
                )
        if "api-version" not in req.query:
            raise _arm_error(400, "BadParameter", "The 'api-version' query parameter is missing.")
        if not _SECRET_NAME_RE.match(name):
            raise _arm_error(
                400, "BadParameter", "The secret name is not valid: use 1-127 letters, digits and dashes."
            )
        if deleted:
            return self._deleted_secret(req, name, version)
        if req.method == "DELETE" and version is None:
            with standin._lock:
                versions = list(standin._secrets.get(name.lower(), []))
            if not versions or not standin.delete_secret(name):
                raise _arm_error(
                    404, "SecretNotFound", f"A secret with (name/id) {name} was not found in this key vault."
                )
            return self._answer(req, 200, self._deleted_bundle(name, versions[-1], int(time.time())))
        if req.method == "PUT" and version is None:
            with standin._lock:
                is_deleted = name.lower() in standin._deleted
            if is_deleted:
                raise _Reply(
                    409,
                    {
                        "error": {
                            "code": "Conflict",
                            "message": f"Secret {name} is currently in a deleted but recoverable state, "
                            "and its name cannot be reused; in this state, the secret can only be "
                            "recovered or purged.",
                            "innererror": {"code": "ObjectIsDeletedButRecoverable"},
                        }
                    },
                )
            try:
                data = json.loads(body or b"{}")
                value = data["value"]
            except (ValueError, KeyError, TypeError) as exc:
                raise _arm_error(
                    400, "BadParameter", "The request body must be JSON with a 'value'."
                ) from exc
            new_version = standin.set_secret(name, str(value), content_type=data.get("contentType"))
            with standin._lock:
                secret = next(s for s in standin._secrets[name.lower()] if s.version == new_version)
                secret.tags = dict(data.get("tags") or {})
            return self._answer(req, 200, self._secret_bundle(name, secret, include_value=True))
        if req.method != "GET":
            raise _arm_error(
                405, "MethodNotAllowed", f"{req.method} is not supported on secrets by the stand-in."
            )
        with standin._lock:
            versions = list(standin._secrets.get(name.lower(), []))
        found = (
            versions[-1]
            if versions and not version
            else next((s for s in versions if s.version == version), None)
        )
        if found is None:
            shown = f"{name}/{version}" if version else name
            raise _arm_error(
                404,
                "SecretNotFound",
                f"A secret with (name/id) {shown} was not found in this key vault. If you recently "
                "deleted this secret you may be able to recover it using the correct recovery command. "
                "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
            )
        self._answer(req, 200, self._secret_bundle(name, found, include_value=True))

    def _deleted_secret(self, req: _Request, name: str, version: str | None) -> None:
        standin = self.standin
        with standin._lock:
            entry = standin._deleted.get(name.lower())
        if entry is None or version:
            raise _arm_error(404, "SecretNotFound", f"Deleted Secret not found: {name}")
        if req.method == "GET":
            return self._answer(req, 200, self._deleted_bundle(name, entry[0][-1], entry[1]))
        if req.method == "DELETE":
            standin.purge_secret(name)
            return self._answer(req, 204)
        raise _arm_error(405, "MethodNotAllowed", f"{req.method} is not supported on deleted secrets.")

    def _deleted_bundle(self, name: str, secret: _Secret, deleted_at: int) -> dict[str, Any]:
        bundle = self._secret_bundle(name, secret, include_value=False)
        bundle["recoveryId"] = f"{self.standin.url}/deletedsecrets/{name}"
        bundle["deletedDate"] = deleted_at
        bundle["scheduledPurgeDate"] = deleted_at + 90 * 86400
        return bundle

    def _secret_bundle(self, name: str, secret: _Secret, *, include_value: bool) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "id": f"{self.standin.url}/secrets/{name}/{secret.version}",
            "attributes": {
                "enabled": secret.enabled,
                "created": secret.created,
                "updated": secret.created,
                "recoveryLevel": "Recoverable+Purgeable",
                "recoverableDays": 90,
            },
            "tags": secret.tags,
        }
        if include_value:
            bundle["value"] = secret.value
        if secret.content_type:
            bundle["contentType"] = secret.content_type
        return bundle
