"""Fixed values shared across the stand-in: the made-up tenant and app identities, the bundled
sample tenant's path, the Advisor api-versions, the token audiences ARM and Key Vault accept,
ARM's read-bucket figures, the ARM and Key Vault error codes, and the Advisor path and secret-name
patterns."""

from __future__ import annotations

import re
from pathlib import Path

# Fixed, made-up identities of the stand-in's tenant and its default app registration. They are
# not secrets: nothing outside this loopback server accepts them.
DEFAULT_TENANT_ID = "6b1f3c2e-9d4a-4e7b-8a51-0c2d3e4f5a6b"
DEFAULT_CLIENT_ID = "3f9a7c1d-2b4e-4d6f-9e8a-7b6c5d4e3f2a"
DEFAULT_CLIENT_SECRET = "standin-client-secret-value"
# The secret name the demo settings use for the Advisor client's secret (ADVISOR_CLIENT_SECRET_NAME).
DEFAULT_SECRET_NAME = "advisor-client-secret"
# The app's own identity (what a managed identity is in Azure): reads Key Vault, nothing else
# holds its secret. Registered alongside the default client unless a caller names clients.
APP_IDENTITY_CLIENT_ID = "9c4d2e1f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
APP_IDENTITY_SECRET = "standin-app-identity-secret"

# devhost/sample_tenant.json, next to this package.
BUNDLED_TENANT = Path(__file__).parent.with_name("sample_tenant.json")

ADVISOR_API_VERSIONS = frozenset(
    {
        "2017-03-31",
        "2017-04-19",
        "2020-01-01",
        "2020-07-01-preview",
        "2022-09-01",
        "2022-10-01",
        "2023-01-01",
        "2023-09-01-preview",
        "2024-11-18-preview",
        "2025-01-01",
    }
)
ARM_AUDIENCES = ("https://management.azure.com", "https://management.core.windows.net")
VAULT_AUDIENCE = "https://vault.azure.net"
READS_PER_BUCKET = 250  # ARM's read bucket per subscription and principal
READS_REFILL_PER_SECOND = 25

ARM_ERROR_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "AuthorizationFailed",
    404: "SubscriptionNotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
VAULT_ERROR_CODES = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "SecretNotFound",
    429: "Throttled",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}
_ADVISOR = "/providers/microsoft.advisor/"
_SECRET_NAME_RE = re.compile(r"^[0-9A-Za-z-]{1,127}$")
