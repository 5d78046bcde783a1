"""A real HTTP webhook receiver on loopback: records every request, answers as told."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to the next POSTs, then 200
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def posts(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.method == "POST"]


@contextmanager
def receiver(head_status: int = 200) -> Iterator[Receiver]:
    state: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

        def _record(self) -> Received:
            length = int(self.headers.get("Content-Length") or 0)
            entry = Received(
                self.command,
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
            )
            with state["receiver"].lock:
                state["receiver"].received.append(entry)
            return entry

        def do_HEAD(self) -> None:
            self._record()
            self.send_response(head_status)
            self.end_headers()

        def do_POST(self) -> None:
            self._record()
            target: Receiver = state["receiver"]
            time.sleep(target.delay)
            with target.lock:
                status = target.statuses.pop(0) if target.statuses else 200
            body = b'{"ok":true}'
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # several workers with 16 concurrent deliveries connect at once

    server = Server(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hook")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["receiver"]
    finally:
        server.shutdown()
        server.server_close()
