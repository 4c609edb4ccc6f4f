"""A webhook receiver as a vendor would write one: it verifies every delivery with the
Standard Webhooks reference library (holding only the endpoint's secret), keeps each
message once by its webhook-id, and can be told to fail the first attempts of each.

Prints its port on the first line of standard output, then serves until killed.

  POST /hook              a delivery: 401 if no secret verifies it, 500 while failing,
                          204 once kept
  PUT  /control           {"secrets": [...], "fail_first": n, "status": 500}
  GET  /control           {"kept": {id: body}, "attempts": {id: n}, "refused": n,
                           "seen": [[id, timestamp, signature], ...]}
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook

lock = threading.Lock()
state = {"secrets": [], "fail_first": 0, "status": 500, "kept": {}, "attempts": {}, "refused": 0, "seen": []}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            self.answer(200, {k: state[k] for k in ("kept", "attempts", "refused", "seen")})

    def do_PUT(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
        with lock:
            for key in ("secrets", "fail_first", "status"):
                if key in body:
                    state[key] = body[key]
        self.answer(200, {})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        with lock:
            secrets = list(state["secrets"])
        payload = None
        for secret in secrets:
            try:
                payload = Webhook(secret).verify(raw, headers)
                break
            except Exception:
                continue
        msg = headers.get("webhook-id", "")
        with lock:
            state["seen"].append([msg, headers.get("webhook-timestamp"), headers.get("webhook-signature")])
            if payload is None:
                state["refused"] += 1
                status = 401
            else:
                n = state["attempts"].get(msg, 0) + 1
                state["attempts"][msg] = n
                if n <= state["fail_first"]:
                    status = state["status"]
                else:
                    state["kept"].setdefault(msg, payload)
                    status = 204
        self.answer(status, {"refused": "signature"} if status == 401 else None)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
