"""The stand-in's HTTP request handler: routes each request to the control API, the Entra ID
endpoints, Key Vault or ARM, each implemented in its own module."""

from __future__ import annotations

import re

from .arm import _ArmEndpoints
from .base import _arm_error
from .control import _ControlEndpoints
from .entra import _EntraEndpoints
from .keyvault import _KeyVaultEndpoints
from .records import _Request


class _Handler(_ControlEndpoints, _EntraEndpoints, _KeyVaultEndpoints, _ArmEndpoints):
    def _route(self, req: _Request, body: bytes) -> None:
        path = req.path
        lower = path.lower()
        if lower.startswith("/_control/") or lower == "/_control":
            req.target = "control"
            return self._control(req, body)
        match = re.fullmatch(r"/([^/]+)/v2\.0/\.well-known/openid-configuration", path)
        if match and req.method == "GET":
            req.target = "openid"
            return self._openid_configuration(req, match.group(1))
        match = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/token", path)
        if match and req.method == "POST":
            req.target = "token"
            return self._token(req, match.group(1), body)
        match = re.fullmatch(r"/secrets/([^/]+)(?:/([^/]*))?/?", path, re.IGNORECASE)
        if match:
            req.target = "keyvault"
            return self._keyvault(req, match.group(1), match.group(2) or None, body)
        match = re.fullmatch(r"/deletedsecrets/([^/]+)(?:/([^/]*))?/?", path, re.IGNORECASE)
        if match:
            req.target = "keyvault"
            return self._keyvault(req, match.group(1), match.group(2) or None, body, deleted=True)
        if lower == "/subscriptions" or lower.startswith("/subscriptions/"):
            req.target = "arm"
            return self._arm(req)
        raise _arm_error(404, "NotFound", f"The Azure stand-in does not serve {req.method} {path}.")
