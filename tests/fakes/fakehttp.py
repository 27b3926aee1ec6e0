#!/usr/bin/env python3
"""A fake HTTP service for tests: the generic core that service fakes (Freshservice, TOGA 2,
the cloud endpoint, Frappe) extend with their routes.

The core keeps a request log (method, path, query, headers, arrival time), injects faults
(a status with Retry-After in seconds or as an HTTP date, added latency, a connection reset,
a per-window request budget answered with 429) and answers a control API:

  POST /_control/faults   {"faults": [FAULT, ...]} or one FAULT object: appended, used in order
  POST /_control/limit    {"requests": N, "window_ms": W, "retry_after": S}: past N requests in
                          any W ms, answer 429 with Retry-After S ({"requests": 0} turns it off)
  POST /_control/reset    clears faults, limit, log and counters
  GET  /_control/log      {"requests": [ENTRY, ...], "counts": {"GET /path": n, ...}}

FAULT: {"path": prefix (default: any), "method": M (default: any), "count": N (default 1),
        "status": 503, "retry_after": seconds, "retry_after_date": seconds from now (sent as an
        HTTP date, rounded up to a whole second), "latency_ms": ms, "reset": true,
        "body": JSON or text, "headers": {"Name": "value"}, "clock_ahead": seconds (the
        answer's Date and Retry-After date come from a clock this far ahead)}
A fault with only latency_ms delays the request and then lets it through.

ENTRY: {"seq", "method", "path", "query", "headers" (lower-case names), "t_mono" (seconds,
        time.monotonic() when the request line was read), "t_wall" (unix seconds), "status"}

Generic routes of the base service (subclasses add their own by overriding route()):
  GET /bytes/<n>[?chunked=1]  a body of n bytes (with or without Content-Length)
  anything else               200 {"ok": true, "method": ..., "path": ..., "seq": n}

Run: fakehttp.py [--host 127.0.0.1] [--port 0]; the bound port is printed on stdout, alone on
its line, once the server accepts connections. How to extend: subclass Service, override
route(req) to return a Response (or None to fall through to the generic routes), and call
main(MyService()).
"""

import argparse
import email.utils
import json
import math
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Response:
    """What a route answers: a status, headers and a body (bytes, str or JSON-able)."""

    def __init__(self, status=200, body=None, headers=None, chunked=False):
        self.status = status
        self.headers = dict(headers or {})
        self.chunked = chunked
        if body is None:
            body = b""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            self.headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        self.body = body


class Request:
    """A request as routes see it."""

    def __init__(self, method, path, query, headers, body, entry):
        self.method = method
        self.path = path
        self.query = query  # dict of name -> list of values
        self.headers = headers  # dict, lower-case names
        self.body = body
        self.entry = entry

    def json(self):
        return json.loads(self.body.decode() or "null")


class Service:
    """The generic core: log, faults, limit. Subclasses override route()."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.log = []
            self.counts = {}
            self.faults = []
            self.limit = None
            self.limit_starts = []

    def route(self, req):
        """A service fake's own routes: return a Response, or None for the generic ones."""
        return None

    def generic_route(self, req):
        parts = req.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "bytes" and parts[1].isdigit():
            n = int(parts[1])
            chunked = req.query.get("chunked", ["0"])[0] == "1"
            return Response(200, b"x" * n, {"Content-Type": "text/plain"}, chunked=chunked)
        return Response(200, {"ok": True, "method": req.method, "path": req.path,
                              "seq": req.entry["seq"]})

    # The log and the faults.

    def record(self, method, path, query, headers, t_mono):
        with self.lock:
            entry = {"seq": len(self.log) + 1, "method": method, "path": path, "query": query,
                     "headers": headers, "t_mono": t_mono, "t_wall": time.time(), "status": None}
            self.log.append(entry)
            key = method + " " + path
            self.counts[key] = self.counts.get(key, 0) + 1
            return entry

    def take_fault(self, method, path):
        with self.lock:
            for f in self.faults:
                if f.get("path") and not path.startswith(f["path"]):
                    continue
                if f.get("method") and f["method"] != method:
                    continue
                f["count"] = f.get("count", 1) - 1
                if f["count"] <= 0:
                    self.faults.remove(f)
                return dict(f)
        return None

    def over_limit(self, now):
        """True when this request passes the per-window budget (it then counts anyway, as
        failed calls do at Freshservice)."""
        with self.lock:
            lim = self.limit
            if not lim or lim.get("requests", 0) <= 0:
                return None
            window = lim.get("window_ms", 60000) / 1000.0
            self.limit_starts = [t for t in self.limit_starts if t > now - window]
            self.limit_starts.append(now)
            if len(self.limit_starts) > lim["requests"]:
                return lim
        return None

    def control(self, method, path, body):
        if method == "GET" and path == "/_control/log":
            with self.lock:
                return Response(200, {"requests": list(self.log), "counts": dict(self.counts)})
        if method != "POST":
            return Response(405, {"error": "control takes POST"})
        doc = json.loads(body.decode() or "{}")
        if path == "/_control/reset":
            self.reset()
        elif path == "/_control/faults":
            faults = doc.get("faults", [doc]) if isinstance(doc, dict) else doc
            with self.lock:
                self.faults.extend(faults)
        elif path == "/_control/limit":
            with self.lock:
                self.limit = doc
                self.limit_starts = []
        else:
            return Response(404, {"error": "unknown control path"})
        return Response(200, {"ok": True})


def fault_response(f):
    """The response a fault with a status stands for."""
    headers = dict(f.get("headers") or {})
    if "retry_after" in f:
        headers["Retry-After"] = str(f["retry_after"])
    if "retry_after_date" in f:
        when = math.ceil(time.time() + float(f.get("clock_ahead", 0)) + float(f["retry_after_date"]))
        headers["Retry-After"] = email.utils.formatdate(when, usegmt=True)
    body = f.get("body", {"errors": [{"message": "injected fault"}]})
    return Response(int(f["status"]), body, headers)


class Handler(BaseHTTPRequestHandler):
    # Keep-alive, as real APIs do; clients reuse connections.
    protocol_version = "HTTP/1.1"
    server_version = "fakehttp"

    def parse_request(self):
        # Stamped as soon as the request line is in: the closest to the client's send.
        self.t_mono = time.monotonic()
        return super().parse_request()

    def date_time_string(self, timestamp=None):
        # A fault's "clock_ahead" runs this answer's Date (and its Retry-After date) ahead, as
        # a server with a wrong clock does.
        ahead, self.clock_ahead = getattr(self, "clock_ahead", 0.0), 0.0
        return super().date_time_string((timestamp or time.time()) + ahead)

    def log_message(self, fmt, *args):
        sys.stderr.write("fakehttp: " + (fmt % args) + "\n")

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def dispatch(self):
        svc = self.server.service
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, urllib.parse.parse_qs(url.query, keep_blank_values=True)
        body = self.read_body()
        if path.startswith("/_control"):
            self.send(svc.control(self.command, path, body))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        entry = svc.record(self.command, path, query, headers, self.t_mono)
        resp = self.faulted(svc, path, entry)
        if resp is None:
            req = Request(self.command, path, query, headers, body, entry)
            resp = svc.route(req) or svc.generic_route(req)
        if resp is False:
            return
        entry["status"] = resp.status
        self.send(resp)

    def faulted(self, svc, path, entry):
        """The response a fault or the limit imposes; False after a reset; None to go on."""
        f = svc.take_fault(self.command, path)
        if f and f.get("latency_ms"):
            time.sleep(f["latency_ms"] / 1000.0)
        if f and f.get("reset"):
            entry["status"] = "reset"
            # SO_LINGER 0 makes close() send RST, as a crashed peer or a proxy would.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return False
        if f and "status" in f:
            self.clock_ahead = float(f.get("clock_ahead", 0))
            return fault_response(f)
        lim = svc.over_limit(time.monotonic())
        if lim:
            return Response(429, {"errors": [{"message": "rate limit"}]},
                            {"Retry-After": str(lim.get("retry_after", 1))})
        return None

    def send(self, resp):
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        if resp.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if not resp.chunked:
            self.wfile.write(resp.body)
            return
        for i in range(0, len(resp.body), 4096):
            chunk = resp.body[i:i + 4096]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # Many clients connect at once in the concurrency tests.
    request_queue_size = 128
    ssl_context = None

    def get_request(self):
        """With an ssl_context, a connection that opens with a TLS handshake (first byte 0x16)
        is served over TLS and any other as plain HTTP, so tests reach the control API without
        trusting the test CA. The handshake runs in the handler's thread."""
        sock, addr = super().get_request()
        if self.ssl_context is not None:
            sock.settimeout(10)
            if sock.recv(1, socket.MSG_PEEK) == b"\x16":
                sock = self.ssl_context.wrap_socket(sock, server_side=True,
                                                    do_handshake_on_connect=False)
            sock.settimeout(None)
        return sock, addr

    def finish_request(self, request, client_address):
        if hasattr(request, "do_handshake"):
            try:
                request.do_handshake()
            except OSError:
                return
        super().finish_request(request, client_address)


def serve(service, host, port, handler=None, ssl_context=None):
    """Serves service on host:port (0: any free port) until interrupted, printing the bound
    port alone on its line first: how tests find a fake (tests/support/tfake.c). With an
    ssl.SSLContext it serves HTTPS to clients that open with a TLS handshake (see
    Server.get_request)."""
    srv = Server((host, port), handler or Handler)
    srv.ssl_context = ssl_context
    srv.service = service
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


def main(service=None, argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    serve(service or Service(), args.host, args.port)


if __name__ == "__main__":
    main()
