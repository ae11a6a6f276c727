"""What devhost reads from host.json, resolved as the real host and Durable extension do.

- ``extensions.durableTask.hubName``: the extension resolves a whole ``%SETTING%`` from the app
  settings (``DurableTaskOptions.ResolveAppSettingOptions`` -> ``INameResolver
  .TryResolveWholeString``); an unset setting leaves the literal ``%SETTING%``, which
  ``AzureStorageOptions.ValidateHubName`` then refuses, and the extension does not start
  (Azure/azure-functions-durable-extension, src/WebJobs.Extensions.DurableTask/Options/).
  Without a ``hubName`` it uses ``WEBSITE_SITE_NAME`` or ``TestHubName``.
- ``functionTimeout``: a .NET TimeSpan (``hh:mm:ss``, ``d.hh:mm:ss``); ``-1`` means none.
  Without it devhost uses 30 minutes, the Flex Consumption / Dedicated default.
- ``extensions.durableTask.maxConcurrentActivityFunctions``: default 10 per core.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

DEFAULT_HUB_NAME = "TestHubName"  # DurableTaskOptions.DefaultHubName
DEFAULT_FUNCTION_TIMEOUT = 30 * 60.0
_WHOLE_SETTING = re.compile(r"^%([^%]+)%$")
# ValidateHubName: a valid blob, container, table and queue name, at most 50 characters.
_VALID_HUB = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,49}$")
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$")


class HostConfigError(Exception):
    """host.json (with the app settings) describes a host that would not start."""


def read_host_json(*folders: Path) -> dict[str, Any]:
    """The first host.json found in ``folders`` (the app's folder, then the app root)."""
    for folder in folders:
        path = folder / "host.json"
        if path.exists():
            try:
                config = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise HostConfigError(f"{path} is not valid JSON: {exc}") from exc
            return config if isinstance(config, dict) else {}
    return {}


def _durable(config: dict[str, Any]) -> dict[str, Any]:
    return ((config.get("extensions") or {}).get("durableTask")) or {}


def check_hub_name(name: str, *, why: str = "") -> str:
    if not _VALID_HUB.match(name):
        raise HostConfigError(
            f"Task hub name '{name}' should contain only alphanumeric characters, start with a letter, "
            f"and have length between 3 and 45.{why}"
        )
    return name


def resolve_hub_name(config: dict[str, Any], environ: dict[str, str] | None = None) -> str:
    """The task hub name the extension would use, or :class:`HostConfigError` if it would not
    start."""
    env = os.environ if environ is None else environ
    configured = _durable(config).get("hubName")
    if configured is None:
        default = re.sub(r"[^A-Za-z0-9]", "", env.get("WEBSITE_SITE_NAME") or DEFAULT_HUB_NAME)
        return check_hub_name(default or DEFAULT_HUB_NAME)
    name = str(configured)
    why = ""
    found = _WHOLE_SETTING.match(name)
    if found:
        setting = found.group(1)
        if env.get(setting):
            name = env[setting]
            why = f" (from app setting {setting}, which host.json's hubName '{configured}' names)"
        else:
            why = (
                f" host.json sets extensions.durableTask.hubName to '{configured}' and the app setting "
                f"{setting} is not set, so the Durable extension would not start. Set {setting} "
                "(in local.settings.json Values or the environment)."
            )
    return check_hub_name(name, why=why)


def parse_timespan(text: str) -> float | None:
    """Seconds in a .NET TimeSpan string; None for ``-1`` (no limit)."""
    value = text.strip()
    if value == "-1":
        return None
    found = _TIMESPAN.match(value)
    if not found:
        raise HostConfigError(f"functionTimeout '{text}' is not a TimeSpan such as 00:10:00")
    days, hours, minutes, seconds, fraction = found.groups()
    total = int(days or 0) * 86_400 + int(hours) * 3_600 + int(minutes) * 60 + int(seconds)
    return total + (int(fraction.ljust(7, "0")) / 10_000_000 if fraction else 0.0)


def function_timeout(config: dict[str, Any]) -> float | None:
    value = config.get("functionTimeout")
    return DEFAULT_FUNCTION_TIMEOUT if value is None else parse_timespan(str(value))


def max_concurrent_activities(config: dict[str, Any]) -> int | None:
    value = _durable(config).get("maxConcurrentActivityFunctions")
    if value is None:
        return None
    if not isinstance(value, int) or value <= 0:
        raise HostConfigError("MaxConcurrentActivityFunctions must be a positive integer value.")
    return value
