"""Receive esimhub's (or Airalo's) webhooks, check their signature and print them.

    export ESIMHUB_BASE_URL=http://127.0.0.1:8000 ESIMHUB_CLIENT_ID=... ESIMHUB_CLIENT_SECRET=...
    python examples/webhook_receiver.py --port 8800              # listen, print what comes
    python examples/webhook_receiver.py --port 8800 --simulate   # opt in, have the API send a
                                                                 # sample, print it and stop

Webhook URLs must answer ``HEAD`` with 200 (the API checks it at opt-in); a body whose
``airalo-signature`` does not verify with your client secret is refused with 401.
"""

from __future__ import annotations

import argparse
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from esimhub.client import Client, webhooks


def serve(port: int, secret: str, received: threading.Event) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.end_headers()

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not webhooks.verify(body, self.headers.get(webhooks.SIGNATURE_HEADER), secret):
                print("refused: the signature does not match")
                self.send_response(401)
                self.end_headers()
                return
            event = webhooks.parse(body)
            print(f"verified {event.kind} webhook: {event.model_dump(exclude={'kind'})}")
            self.send_response(200)  # anything else is retried
            self.end_headers()
            received.set()

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8800)
    parser.add_argument("--simulate", action="store_true")
    args = parser.parse_args()

    secret = os.environ["ESIMHUB_CLIENT_SECRET"]
    received = threading.Event()
    server = serve(args.port, secret, received)
    url = f"http://127.0.0.1:{server.server_address[1]}/webhooks"
    print(f"listening on {url}")
    try:
        if not args.simulate:
            threading.Event().wait()
        with Client() as client:
            client.notifications.opt_in("webhook_low_data", webhook_url=url)
            client.simulator.send("low_data_notification", type="data_75")
        if not received.wait(timeout=30):
            raise SystemExit("no webhook came within 30 s (is the worker running?)")
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
