"""infra/ against the code, without a Bicep compiler (none can be installed here).

The Bicep files are read as text, enough to check what a reviewer would otherwise check by
hand: the app settings infra sets are the ones the code reads (and nothing else but the host's
own), every module path exists, every parameter azd passes is declared, the role ids are the
documented built-in ones, and no key or connection string reaches the app settings.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
APP_CODE = ("shared", "activities", "orchestrators", "triggers", "function_app.py")

# Azure built-in role definition ids (the same in every tenant), from Microsoft's built-in
# roles reference and the Azure-Samples azd Functions templates.
DOCUMENTED_ROLES = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
}
APP_IDENTITY_ROLES = set(DOCUMENTED_ROLES) - {"Reader"}

# Settings the host (not the app's Python code) reads; infra may set these.
HOST_SETTINGS = {"APPLICATIONINSIGHTS_AUTHENTICATION_STRING"}
HOST_SETTING_PREFIXES = ("AzureWebJobsStorage__",)
# Set by the platform on every app (never by infra or a developer): the app's default host name.
PLATFORM_SETTINGS = {"WEBSITE_HOSTNAME"}
# azure-identity's own variables for a developer's service principal (EnvironmentCredential):
# read on a developer machine only, never set in Azure, where the managed identity is used.
DEVELOPER_ONLY = {"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH"}


def _bicep(path: str) -> str:
    return (INFRA / path).read_text()


def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)


def code_settings() -> set[str]:
    """Every environment setting the app's code reads (shared/settings.py and any os.environ)."""
    found: set[str] = set()
    for entry in APP_CODE:
        path = ROOT / entry
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
            source = file.read_text()
            found |= set(re.findall(r'(?:\benv|_int|_float|_bool)\(\s*"([A-Za-z_][A-Za-z0-9_]*)"', source))
            found |= set(re.findall(r'os\.environ(?:\.get)?[\(\[]\s*"([A-Za-z_][A-Za-z0-9_]*)"', source))
            found |= set(re.findall(r'os\.getenv\(\s*"([A-Za-z_][A-Za-z0-9_]*)"', source))
    return found


def host_json_settings() -> set[str]:
    return set(re.findall(r"%([A-Za-z_][A-Za-z0-9_]*)%", (ROOT / "host.json").read_text()))


def infra_app_settings() -> dict[str, str]:
    """The ``appSettings`` object in app/api.bicep: name -> the Bicep expression."""
    text = _bicep("app/api.bicep")
    block = re.search(r"var appSettings = \{\n(.*?)\n\}", text, re.S)
    assert block, "app/api.bicep has no `var appSettings = {...}` block"
    pairs = re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.+)$", _strip_comments(block.group(1)), re.M)
    return dict(pairs)


def optional_settings() -> set[str]:
    line = re.search(r"^// optional-settings:(.*)$", _bicep("app/api.bicep"), re.M)
    assert line, "app/api.bicep does not list its optional settings"
    return set(line.group(1).split())


def test_the_scan_finds_the_settings_it_should():
    found = code_settings()
    # A few the code is known to read; if these vanish the patterns are out of date.
    assert {"KEY_VAULT_URL", "ADVISOR_PAGE_SIZE", "AzureWebJobsStorage", "AZURE_CLIENT_ID"} <= found


def test_every_setting_the_code_reads_is_set_by_infra_or_listed_as_optional():
    infra = set(infra_app_settings())
    optional = optional_settings()
    missing = set()
    for name in code_settings() - DEVELOPER_ONLY - PLATFORM_SETTINGS:
        if name == "AzureWebJobsStorage":
            # In Azure the identity-based form stands for the connection string (settings.py).
            if not {"AzureWebJobsStorage__blobServiceUri", "AzureWebJobsStorage__tableServiceUri"} <= infra:
                missing.add(name)
            continue
        if name not in infra and name not in optional:
            missing.add(name)
    assert not missing, f"read by the code, not set in infra/app/api.bicep: {sorted(missing)}"
    assert not (optional & infra), "a setting is both set and listed as optional"


def test_every_setting_the_code_or_host_reads_is_in_the_sample_file():
    sample = set(json.loads((ROOT / "local.settings.sample.json").read_text())["Values"])
    wanted = (code_settings() | host_json_settings()) - DEVELOPER_ONLY - PLATFORM_SETTINGS
    assert wanted <= sample, f"missing from local.settings.sample.json: {sorted(wanted - sample)}"


def test_infra_sets_nothing_the_code_or_host_never_reads():
    known = code_settings() | host_json_settings() | HOST_SETTINGS
    unread = {
        name
        for name in infra_app_settings()
        if name not in known and not name.startswith(HOST_SETTING_PREFIXES)
    }
    assert not unread, f"set in infra but read by nothing: {sorted(unread)}"
    assert "DURABLE_TASK_HUB" in infra_app_settings()  # host.json's %DURABLE_TASK_HUB%


def test_identity_based_storage_and_no_secret_in_app_settings():
    settings = infra_app_settings()
    assert "AzureWebJobsStorage" not in settings  # no connection string: identity-based only
    assert settings["AzureWebJobsStorage__credential"].strip() == "'managedidentity'"
    assert "identityClientId" in settings["AzureWebJobsStorage__clientId"]
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"].count("Authorization=AAD") == 1
    for name, expression in settings.items():
        lowered = expression.lower()
        for forbidden in ("listkeys(", "accountkey", "sharedaccesssignature", "primarykey", "secret("):
            assert forbidden not in lowered, f"{name} carries a key: {expression}"
    everything = "\n".join(_strip_comments(p.read_text()) for p in INFRA.rglob("*.bicep"))
    assert "listKeys(" not in everything and "AccountKey=" not in everything


@pytest.mark.parametrize(
    ("setting", "parameter"),
    [
        ("CALLBACK_SIGNING_KEY", "callbackSigningKeySecretName"),
        ("REPORT_LINK_KEY", "reportLinkKeySecretName"),
    ],
)
def test_signing_keys_are_key_vault_references_or_unset(setting: str, parameter: str) -> None:
    """The two keys the app signs with reach it only as Key Vault references (resolved by the
    platform with the app identity), or not at all; azd's environment names the secret."""
    api = " ".join((INFRA / "app" / "api.bicep").read_text().split())
    expected = (
        f"{setting}: empty({parameter}) ? '' "
        f": '@Microsoft.KeyVault(SecretUri=${{keyVaultUri}}secrets/${{{parameter}}}/)'"
    )
    assert expected in api
    assert infra_app_settings()[setting].strip() == f"empty({parameter})"  # nothing else sets it
    main = (INFRA / "main.bicep").read_text()
    assert f"param {parameter} string = ''" in main and f"{parameter}: {parameter}" in main
    assert "keyVaultReferenceIdentity: identityId" in (INFRA / "app" / "api.bicep").read_text()


def test_flex_consumption_python_311_without_worker_runtime_setting():
    api = _bicep("app/api.bicep")
    assert "FUNCTIONS_WORKER_RUNTIME" not in infra_app_settings()
    assert "FUNCTIONS_WORKER_RUNTIME" not in _strip_comments(api)
    runtime = re.search(r"runtime:\s*\{\s*name:\s*'([^']+)'\s*version:\s*'([^']+)'", api)
    assert runtime and runtime.groups() == ("python", "3.11")
    assert re.search(r"name:\s*'FC1',\s*tier:\s*'FlexConsumption'", api)
    assert "functionAppConfig" in api


def test_locked_down_resources():
    storage = _strip_comments(_bicep("app/storage.bicep"))
    assert re.search(r"allowSharedKeyAccess:\s*false", storage)
    assert re.search(r"allowBlobPublicAccess:\s*false", storage)
    assert re.search(r"enableRbacAuthorization:\s*true", _bicep("app/keyvault.bicep"))
    monitoring = _bicep("app/monitoring.bicep")
    assert re.search(r"DisableLocalAuth:\s*true", monitoring) and "WorkspaceResourceId" in monitoring
    assert re.search(r"param privateNetworking bool = false", _bicep("main.bicep"))


@pytest.mark.parametrize("bicep", sorted(p.relative_to(INFRA).as_posix() for p in INFRA.rglob("*.bicep")))
def test_every_module_path_exists(bicep):
    text = _strip_comments(_bicep(bicep))
    for path in re.findall(r"^module\s+\w+\s+'([^']+)'", text, re.M):
        if path.startswith("br/") or path.startswith("br:") or path.startswith("ts/"):
            continue  # registry modules: not files
        assert (INFRA / bicep).parent.joinpath(path).is_file(), f"{bicep}: module {path} does not exist"


def test_every_module_is_used():
    used = set(re.findall(r"^module\s+\w+\s+'([^']+)'", _strip_comments(_bicep("main.bicep")), re.M))
    modules = {p.relative_to(INFRA).as_posix() for p in (INFRA / "app").glob("*.bicep")}
    assert modules == used


def test_parameters_file_matches_main_bicep():
    main = _strip_comments(_bicep("main.bicep"))
    declared = dict(re.findall(r"^param\s+(\w+)\s+\w+(\s*=)?", main, re.M))
    given = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert set(given) <= set(declared), f"undeclared: {sorted(set(given) - set(declared))}"
    required = {name for name, default in declared.items() if not default}
    assert required <= set(given), f"required but not passed by azd: {sorted(required - set(given))}"


def _role_vars(bicep: str) -> dict[str, tuple[str, str]]:
    """``var x = '<guid>' // Role Name`` -> {x: (guid, Role Name)}."""
    pattern = r"^var\s+(\w+)\s*=\s*'([0-9a-f-]{36})'\s*//\s*(.+?)\s*$"
    return {name: (guid, role) for name, guid, role in re.findall(pattern, _bicep(bicep), re.M)}


@pytest.mark.parametrize("bicep", ["app/rbac.bicep", "app/reader.bicep"])
def test_role_ids_are_the_documented_ones(bicep):
    roles = _role_vars(bicep)
    assert roles, f"{bicep} names no role"
    for name, (guid, role) in roles.items():
        assert DOCUMENTED_ROLES.get(role) == guid, f"{bicep}: {name} = {guid} is not the id of {role!r}"
    text = _strip_comments(_bicep(bicep))
    # Every assignment refers to one of those named ids, never to a bare GUID.
    referenced = re.findall(r"roleDefinitions',\s*(\w+)\)", text)
    assert referenced and set(referenced) <= set(roles)
    assert not re.findall(r"roleDefinitions',\s*'", text)


def test_the_app_identity_gets_exactly_its_five_roles():
    roles = {role for _, role in _role_vars("app/rbac.bicep").values()}
    assert roles == APP_IDENTITY_ROLES
    text = _strip_comments(_bicep("app/rbac.bicep"))
    app_grants = re.findall(r"guid\(\w+\.id, principalId, (\w+)\)", text)
    names = {name: role for name, (_, role) in _role_vars("app/rbac.bicep").items()}
    assert sorted(names[g] for g in app_grants) == sorted(APP_IDENTITY_ROLES)


def test_azure_yaml_deploys_the_root_as_a_function_app():
    text = (ROOT / "azure.yaml").read_text()
    assert re.search(r"^\s+project:\s*\.\s*$", text, re.M)
    assert re.search(r"^\s+host:\s*function\s*$", text, re.M)
    assert re.search(r"^\s+language:\s*python\s*$", text, re.M)


def test_host_json_samples_without_dropping_failures():
    host = json.loads((ROOT / "host.json").read_text())
    sampling = host["logging"]["applicationInsights"]["samplingSettings"]
    excluded = set(sampling["excludedTypes"].split(";"))
    assert {"Request", "Exception"} <= excluded
    assert host["extensions"]["durableTask"]["hubName"] == "%DURABLE_TASK_HUB%"
    assert host["extensionBundle"]["version"] == "[4.*, 5.0.0)"
    assert host["functionTimeout"]
