"""The whole local stack in one object: Azurite, the HTTPS Azure stand-in and the Functions
host running ``function_app``, wired together through the app's own settings.

Used by ``python -m devhost``, ``make demo``, the end-to-end tests and the benchmark. The app's
settings are environment variables (as in Azure), so the stack sets them in ``os.environ``
before the host starts, and restores the previous values on ``stop()``. ``DURABLE_TASK_HUB`` is
one of them: host.json names the hub ``%DURABLE_TASK_HUB%``. Activities run in threads of this
process, as the Python worker runs them; ``use_processes=True`` is the explicit alternative.

``identity_storage=True`` runs the app as infra/ deploys it: no ``AzureWebJobsStorage``
connection string, only the identity-based ``AzureWebJobsStorage__*ServiceUri`` /
``__credential`` / ``__clientId`` settings; Azurite serves HTTPS and checks OAuth tokens, and
the app's ``ManagedIdentityCredential`` gets them from devhost/identity_endpoint.py (the
platform's ``IDENTITY_ENDPOINT``). devhost's own task-hub store keeps the emulator's key: it
stands in for the host, whose storage access is not what is under test.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from devhost.azure_standin import AzureStandIn
from devhost.azurite import Azurite
from devhost.functions_host import FunctionsHost
from devhost.identity_endpoint import IdentityEndpoint
from shared.settings import DEFAULT_REPORT_SCHEDULE, DEFAULT_RETENTION_SCHEDULE

ROOT = Path(__file__).resolve().parent.parent


class DevStack:
    def __init__(
        self,
        *,
        tenant: str | Path | dict[str, Any] | None = None,
        port: int = 0,
        azurite_location: str | Path | None = None,
        azurite_ports: tuple[int, int, int] | None = None,
        azurite_join: bool = False,
        settings: dict[str, str] | None = None,
        activity_workers: int | None = None,
        use_processes: bool = False,
        host_key: str | None = None,
        task_hub: str = "AdvisorReports",
        page_size: int = 100,
        identity_storage: bool = False,
    ) -> None:
        ports = azurite_ports or (None, None, None)
        self.azurite = Azurite(
            location=azurite_location, in_memory=azurite_location is None,
            blob_port=ports[0], queue_port=ports[1], table_port=ports[2], join=azurite_join,
            oauth=identity_storage,
        )  # fmt: skip
        self.identity = IdentityEndpoint() if identity_storage else None
        self.standin = AzureStandIn(tenant, page_size=page_size)
        self._settings = settings or {}
        self._port = port
        self._workers = activity_workers
        self._use_processes = use_processes
        self._key = host_key
        self._task_hub = task_hub
        self._saved_env: dict[str, str | None] = {}
        self.host: FunctionsHost | None = None

    @property
    def url(self) -> str:
        assert self.host is not None, "the stack is not started"
        return self.host.url

    @property
    def key(self) -> str:
        """The host key: what a caller of the app's function-level routes uses."""
        assert self.host is not None, "the stack is not started"
        return self.host.host_key

    @property
    def master_key(self) -> str:
        """Opens everything, the Durable webhooks included (operators and tests only)."""
        assert self.host is not None, "the stack is not started"
        return self.host.master_key

    @property
    def storage_connection(self) -> str:
        return self.azurite.connection_string

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def _storage_env(self) -> dict[str, str]:
        if self.identity is None:
            return {"AzureWebJobsStorage": self.azurite.connection_string}
        self.identity.start()
        # One CA bundle for both HTTPS servers (the Azure stand-in and Azurite); requests honours
        # REQUESTS_CA_BUNDLE for clients built without connection_verify (devhost's own store).
        bundle = Path(self.azurite.location) / "ca-bundle.pem"
        bundle.write_text(Path(self.standin.ca_path).read_text() + Path(self.azurite.ca_bundle).read_text())
        self._saved_env.setdefault("AzureWebJobsStorage", os.environ.pop("AzureWebJobsStorage", None))
        return {
            **self.azurite.identity_settings(client_id=self.identity.client_id),
            **self.identity.environment(),
            "TLS_CA_BUNDLE": str(bundle),
            "REQUESTS_CA_BUNDLE": str(bundle),
        }

    def start(self) -> DevStack:
        from shared.clients import reset_clients
        from shared.settings import reset_settings

        try:
            self.azurite.start()
            self.standin.start()
            self._set_env({
                **self.standin.settings_env(),
                "DURABLE_TASK_HUB": self._task_hub,
                # The scheduled_reports timer binds "%REPORT_SCHEDULE%" (the sample's value).
                "REPORT_SCHEDULE": DEFAULT_REPORT_SCHEDULE,
                # The report_retention timer binds "%REPORT_RETENTION_SCHEDULE%" (the sample's value).
                "REPORT_RETENTION_SCHEDULE": DEFAULT_RETENTION_SCHEDULE,
                **self._storage_env(),
                **self._settings,
            })  # fmt: skip
            reset_settings()
            reset_clients()
            self.host = self._new_host().start()
        except BaseException:
            self.stop()
            raise
        return self

    def _new_host(self) -> FunctionsHost:
        # No task_hub: the host resolves host.json's "%DURABLE_TASK_HUB%" from the setting above,
        # as the Durable extension does.
        return FunctionsHost(
            "function_app", storage_connection=self.azurite.connection_string, port=self._port,
            host_key=self._key, activity_workers=self._workers,
            use_processes=self._use_processes, app_root=ROOT,
        )  # fmt: skip

    def stop_host(self, *, kill: bool = False) -> None:
        """Stop only the Functions host; storage and the stand-in keep running. ``kill=True``
        imitates a crash: running activities die and queued writes are dropped."""
        if self.host is not None:
            self.host.stop(kill=kill)
            self.host = None

    def restart_host(self) -> None:
        self.stop_host()
        self.host = self._new_host().start()

    def stop(self) -> None:
        from shared.clients import reset_clients
        from shared.settings import reset_settings

        self.stop_host()
        self.standin.stop()
        if self.identity is not None:
            self.identity.stop()
        self.azurite.stop()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        reset_settings()
        reset_clients()

    def __enter__(self) -> DevStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
