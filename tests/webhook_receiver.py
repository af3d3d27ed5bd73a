"""A real HTTP receiver on 127.0.0.1 for the webhook tests: it records every request and
answers what the test scripted (a status, or "slow": answer after the sender gave up)."""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    script: list[object] = field(default_factory=list)  # answers, in order; then 200
    requests: list[Received] = field(default_factory=list)
    slow_seconds: float = 1.5
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> object:
        with self.lock:
            return self.script.pop(0) if self.script else 200


def start_receiver(tls: tuple[str, str] | None = None) -> tuple[ThreadingHTTPServer, Receiver]:
    """`tls`: (certificate, key) files to answer https instead of http."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            answer = receiver.next_answer()
            if answer == "slow":
                time.sleep(receiver.slow_seconds)
                answer = 200
            self.send_response(int(answer))  # type: ignore[call-overload]
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls else "http"
    receiver = Receiver(f"{scheme}://127.0.0.1:{server.server_address[1]}/hooks/prepbase")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, receiver
