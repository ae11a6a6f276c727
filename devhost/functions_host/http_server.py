"""Threaded HTTP listeners on loopback: the public port (``/api``, ``/admin``, the Durable
webhooks) and the local RPC port the durable client calls.

Each connection gets a thread (``ThreadingHTTPServer``); the handler reads the request
(Content-Length or chunked), passes ``(method, target, headers, body)`` to the host's callable
and writes the ``Response`` back. On ``close()`` open keep-alive connections are shut down too,
so a stopped host answers nothing.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .durable_api import Response

log = logging.getLogger("devhost.functions_host")

Handler = Callable[[str, str, dict[str, str], bytes], Response]


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "devhost-functions"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 120  # an idle keep-alive connection ends after two minutes

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        log.debug("%s %s", self.address_string(), format % args)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        try:
            body = self._body()
            headers = {k: v for k, v in self.headers.items()}
            response = self.server.handler(self.command, self.path, headers, body)
        except Exception:
            log.exception("unhandled error serving %s %s", self.command, self.path)
            response = Response(500, b"Internal Server Error", {"Content-Type": "text/plain; charset=utf-8"})
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.server.close_connections:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: Handler, *, close_connections: bool) -> None:
        self.handler = handler
        self.close_connections = close_connections
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def track(self, connection: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_all(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class HttpListener:
    def __init__(self, host: str, port: int, handler: Handler, *, name: str, keep_alive: bool = True) -> None:
        self._server = _Server((host, port), handler, close_connections=not keep_alive)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name=name, daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()
        self._server.close_all()
