"""A local HTTPS stand-in for the parts of Azure the app talks to, so the real SDK clients
(azure-mgmt-advisor, azure-identity, azure-keyvault-secrets) run unmodified against loopback.

One server on ``https://127.0.0.1:PORT`` serves:

- ARM, Microsoft.Advisor as azure-mgmt-advisor 9.0.1 calls it (api-version 2020-01-01):
  ``GET /subscriptions/{sub}/providers/Microsoft.Advisor/recommendations`` with ``$filter``
  (Category, ResourceGroup, ResourceId, RecommendationTypeGuid; ``eq``, ``and``, ``or``,
  parentheses; ``'...'`` strings with ``''`` for a quote), ``$top`` and ``nextLink`` paging
  (an absolute URL carrying an opaque ``$skipToken``);
  ``GET {resourceUri}/providers/Microsoft.Advisor/recommendations/{name}``;
  ``POST .../generateRecommendations`` (202 + Location + Retry-After) and
  ``GET .../generateRecommendations/{operationId}`` (202 the first time, then 204);
  ``GET /subscriptions`` and ``GET /subscriptions/{sub}`` (the Subscriptions API).
  Every ARM request needs ``Authorization: Bearer <token issued here>``.
- Entra ID (v2 endpoints) for ``ClientSecretCredential``: ``GET /{tenant}/v2.0/.well-known/
  openid-configuration`` and ``POST /{tenant}/oauth2/v2.0/token`` (client_credentials with a
  client secret), for the stand-in's tenant and every tenant a service principal of the
  tenant file lives in. Only those principals (and the app's own identity) get tokens; a
  wrong secret is AADSTS7000215 (401). Tokens are opaque random strings, remembered with
  their audience and principal; a principal limited to some subscriptions gets ARM's 403
  AuthorizationFailed on the others, as a Reader assignment on each would give.
- Key Vault secrets: ``GET /secrets/{name}[/{version}]``, ``PUT /secrets/{name}`` (a new
  version each time), ``DELETE /secrets/{name}`` (soft delete), ``GET|DELETE
  /deletedsecrets/{name}`` (the delete poller's check, purge), with Key
  Vault's challenge (401 + ``WWW-Authenticate: Bearer authorization="{url}/{tenant}",
  resource="https://vault.azure.net"``) on a request without a token.
- A control API for tests in this or another process (no auth; loopback only):
  ``GET|POST|DELETE /_control/faults``, ``DELETE /_control/faults/{id}``,
  ``GET|DELETE /_control/requests``, ``PUT /_control/tenant``, ``PUT /_control/secrets/{name}``,
  ``PUT /_control/clients/{clientId}``, ``POST /_control/tokens/expire``, ``GET /_control/health``.

Pointing the SDK clients at it (``s`` is a running :class:`AzureStandIn`)::

    cred = ClientSecretCredential(s.tenant_id, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
                                  authority=s.url,
                                  disable_instance_discovery=True,  # required, see below
                                  connection_verify=s.ca_path)
    advisor = AdvisorManagementClient(cred, subscription_id, base_url=s.url,
                                      credential_scopes=[s.url + "/.default"],
                                      connection_verify=s.ca_path)
    vault = SecretClient(vault_url=s.url, credential=cred,
                         verify_challenge_resource=False,  # required, see below
                         connection_verify=s.ca_path)

(:meth:`AzureStandIn.credential`, :meth:`~AzureStandIn.advisor_client` and
:meth:`~AzureStandIn.secret_client` build exactly these.)

- ``disable_instance_discovery=True``: MSAL validates an authority host it does not know by
  calling ``https://login.microsoftonline.com/common/discovery/instance`` (the real internet)
  before anything else; with discovery disabled it goes straight to the stand-in's
  ``/{tenant}/v2.0/.well-known/openid-configuration``. Real clouds' hosts (public, US Gov,
  China) are on MSAL's well-known list, so production code needs the flag only for hosts like
  this one.
- ``verify_challenge_resource=False``: SecretClient checks that the request host ends with
  ``.`` + the challenge's resource host (``*.vault.azure.net``); ``127.0.0.1`` cannot.
- Trust: ``connection_verify=s.ca_path`` on each client (credential included) keeps the test CA
  local to those clients; azure-core passes it to requests per request, so it wins over any
  ``REQUESTS_CA_BUNDLE`` already in the environment. Setting ``REQUESTS_CA_BUNDLE=s.ca_path``
  works too (azure-core's requests transport trusts the environment by default), but it
  replaces the system CA bundle for every requests-based client in the process. For plain
  ``requests``, pass ``verify=s.ca_path`` on each call: a ``REQUESTS_CA_BUNDLE`` in the
  environment overrides ``Session.verify``.
- Token audience: ARM accepts tokens for ``https://management.azure.com``,
  ``https://management.core.windows.net`` or the stand-in's own URL (what the app asks for
  when ``ARM_ENDPOINT`` is the stand-in); Key Vault accepts ``https://vault.azure.net`` or the
  stand-in's URL. Anything else gets ``InvalidAuthenticationTokenAudience`` / AKV10022.

Faults (see :class:`Fault`), per subscription or ``"*"``, for the next ``count`` matching
requests or always (``count`` omitted), optionally only on listing page ``page``: an error
status with ARM's real error code (401 InvalidAuthenticationToken, 403 AuthorizationFailed,
404 SubscriptionNotFound, 429 TooManyRequests with ``Retry-After`` and
``x-ms-ratelimit-remaining-subscription-reads``, 500 InternalServerError, 503
ServiceUnavailable), a delay, a page of invalid JSON, a page whose ``nextLink`` is ``""`` or
points back at the page itself. Only Retry-After-carrying faults (429, and 503 when asked)
send ``Retry-After``: azure-core retries *any* status >= 400 that has one.

Nothing logged or recorded here contains an Authorization header, a token, a client secret or
a secret value. The request log and the per-subscription counters leave out ``/_control``
calls. ``python -m devhost.azure_standin --tenant FILE --port N --ca-out DIR`` runs it
in the foreground (``--help`` for more).

The package's modules: :mod:`~devhost.azure_standin.server` (:class:`AzureStandIn`),
:mod:`~devhost.azure_standin.handler` (routing) with one module per service
(:mod:`~devhost.azure_standin.arm`, :mod:`~devhost.azure_standin.entra`,
:mod:`~devhost.azure_standin.keyvault`, :mod:`~devhost.azure_standin.control`) over the shared
plumbing in :mod:`~devhost.azure_standin.base`; :mod:`~devhost.azure_standin.odata_filter`
(``$filter``), :mod:`~devhost.azure_standin.faults` (:class:`Fault`),
:mod:`~devhost.azure_standin.records`, :mod:`~devhost.azure_standin.constants`, and the
command line in ``__main__``.
"""

from .constants import (
    ADVISOR_API_VERSIONS,
    APP_IDENTITY_CLIENT_ID,
    APP_IDENTITY_SECRET,
    ARM_AUDIENCES,
    ARM_ERROR_CODES,
    BUNDLED_TENANT,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SECRET_NAME,
    DEFAULT_TENANT_ID,
    READS_PER_BUCKET,
    READS_REFILL_PER_SECOND,
    VAULT_AUDIENCE,
    VAULT_ERROR_CODES,
)
from .faults import Fault
from .odata_filter import (
    FilterError,
    Predicate,
    parse_filter,
    recommendation_resource_group,
    recommendation_resource_id,
)
from .server import AzureStandIn

__all__ = [
    "ADVISOR_API_VERSIONS",
    "APP_IDENTITY_CLIENT_ID",
    "APP_IDENTITY_SECRET",
    "ARM_AUDIENCES",
    "ARM_ERROR_CODES",
    "BUNDLED_TENANT",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_SECRET_NAME",
    "DEFAULT_TENANT_ID",
    "READS_PER_BUCKET",
    "READS_REFILL_PER_SECOND",
    "VAULT_AUDIENCE",
    "VAULT_ERROR_CODES",
    "AzureStandIn",
    "Fault",
    "FilterError",
    "Predicate",
    "parse_filter",
    "recommendation_resource_group",
    "recommendation_resource_id",
]
