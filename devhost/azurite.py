"""Start and stop Azurite, the official Azure Storage emulator (npm package, pinned in
package.json), for the demo, devhost and the tests.

``Azurite.start()`` runs ``node_modules/.bin/azurite`` on free (or given) loopback ports and
waits until blob, queue and table endpoints accept connections; ``connection_string`` is what
the app's ``AzureWebJobsStorage`` setting takes. It never uses an emulator it did not start
unless asked: when a requested port is taken it raises :class:`PortsTaken` naming the ports;
``Azurite(join=True)`` uses the emulator already listening on the given ports instead (another
checkout's, say, with that emulator's data) and leaves it running.

``Azurite(oauth=True)`` serves HTTPS with a certificate from a throwaway test CA (``ca_bundle``)
and accepts OAuth bearer tokens (``--oauth basic``: Azurite checks a token's issuer, audience
and lifetime, not its signature; see node_modules/azurite/README.md, "OAuth Configuration").
That is how the identity-based settings (``identity_settings``) are tested: the app's real
``ManagedIdentityCredential`` gets its tokens from devhost/identity_endpoint.py and Azure's
SDK clients send them here, with no key anywhere.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Azurite's well-known development account; public and documented, not a secret.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: Azurite's default ports (blob, queue, table), which ``python -m devhost`` asks for.
USUAL_PORTS = (10000, 10001, 10002)
SERVICES = ("blob", "queue", "table")


class PortsTaken(RuntimeError):
    """Ports Azurite cannot listen on: something else on this machine holds them."""

    def __init__(self, taken: dict[int, str]) -> None:
        self.taken = taken
        names = ", ".join(f"{port} ({service})" for port, service in taken.items())
        super().__init__(f"127.0.0.1 port{'s' if len(taken) > 1 else ''} {names} already in use")


class NothingToJoin(RuntimeError):
    """``join=True`` but no emulator answers on the ports."""


def port_taken(port: int) -> bool:
    """Whether something holds this loopback port, so that Azurite could not listen on it."""
    with socket.socket() as sock:
        # As Node's listen() does: a connection lingering in TIME_WAIT does not hold the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def connection_string(blob_port: int, queue_port: int, table_port: int) -> str:
    base = "http://127.0.0.1"
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint={base}:{blob_port}/{DEV_ACCOUNT};"
        f"QueueEndpoint={base}:{queue_port}/{DEV_ACCOUNT};"
        f"TableEndpoint={base}:{table_port}/{DEV_ACCOUNT};"
    )


def azurite_executable() -> str:
    local = ROOT / "node_modules" / ".bin" / "azurite"
    if local.exists():
        return str(local)
    found = shutil.which("azurite")
    if found:
        return found
    raise RuntimeError("Azurite is not installed: run `npm ci` in the project folder (make setup does it)")


class Azurite:
    def __init__(
        self,
        *,
        location: str | Path | None = None,
        in_memory: bool = False,
        blob_port: int | None = None,
        queue_port: int | None = None,
        table_port: int | None = None,
        join: bool = False,
        oauth: bool = False,
    ) -> None:
        self.blob_port = blob_port or free_port()
        self.queue_port = queue_port or free_port()
        self.table_port = table_port or free_port()
        self.in_memory = in_memory
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if location is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="azurite-")
            location = self._tmp.name
        self.location = Path(location)
        self.process: subprocess.Popen[bytes] | None = None
        self.join = join
        self.joined = False
        self.oauth = oauth
        self.ca_bundle = ""  # the test CA's PEM file, with oauth=True

    @property
    def scheme(self) -> str:
        return "https" if self.oauth else "http"

    def endpoint(self, service: str) -> str:
        port = {"blob": self.blob_port, "queue": self.queue_port, "table": self.table_port}[service]
        return f"{self.scheme}://127.0.0.1:{port}/{DEV_ACCOUNT}"

    def identity_settings(self, client_id: str = "") -> dict[str, str]:
        """The identity-based ``AzureWebJobsStorage__*`` settings pointing at this emulator."""
        settings = {f"AzureWebJobsStorage__{s}ServiceUri": self.endpoint(s) for s in SERVICES}
        settings["AzureWebJobsStorage__credential"] = "managedidentity"
        if client_id:
            settings["AzureWebJobsStorage__clientId"] = client_id
        return settings

    @property
    def connection_string(self) -> str:
        if self.oauth:
            return (
                connection_string(self.blob_port, self.queue_port, self.table_port)
                .replace("http://", "https://")
                .replace("DefaultEndpointsProtocol=http;", "DefaultEndpointsProtocol=https;")
            )
        return connection_string(self.blob_port, self.queue_port, self.table_port)

    def _tls_options(self) -> list[str]:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        cert_file, key_file = self.location / "azurite-cert.pem", self.location / "azurite-key.pem"
        cert.cert_chain_pems[0].write_to_path(str(cert_file))
        cert.private_key_pem.write_to_path(str(key_file))
        ca_file = self.location / "azurite-ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        self.ca_bundle = str(ca_file)
        return ["--cert", str(cert_file), "--key", str(key_file), "--oauth", "basic"]

    def start(self, timeout: float = 30.0) -> Azurite:
        ports = (self.blob_port, self.queue_port, self.table_port)
        services = dict(zip(ports, SERVICES, strict=True))
        if self.join:
            silent = [f"{p} ({service})" for p, service in services.items() if not _listening(p)]
            if silent:
                raise NothingToJoin(
                    "nothing to join: no storage emulator answers on 127.0.0.1 " + ", ".join(silent)
                )
            self.joined = True
            return self
        taken = {p: service for p, service in services.items() if port_taken(p)}
        if taken:
            raise PortsTaken(taken)
        self.location.mkdir(parents=True, exist_ok=True)
        cmd = [
            azurite_executable(), "--silent", "--skipApiVersionCheck", "--loose",
            "--blobHost", "127.0.0.1", "--blobPort", str(self.blob_port),
            "--queueHost", "127.0.0.1", "--queuePort", str(self.queue_port),
            "--tableHost", "127.0.0.1", "--tablePort", str(self.table_port),
        ]  # fmt: skip
        # Azurite refuses --location together with --inMemoryPersistence.
        cmd += ["--inMemoryPersistence"] if self.in_memory else ["--location", str(self.location)]
        if self.oauth:
            cmd += self._tls_options()
        log = open(self.location / "azurite.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True, env={**os.environ}
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Azurite exited with {self.process.returncode}; see {self.location}/azurite.log"
                )
            if all(_listening(p) for p in ports):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Azurite did not start within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            if self.in_memory:
                # Nothing to flush; Azurite would wait for idle keep-alive clients on SIGTERM.
                self.process.kill()
            else:
                self.process.terminate()
                try:
                    self.process.wait(2)
                except subprocess.TimeoutExpired:
                    self.process.kill()
            self.process.wait()
        self.process = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
