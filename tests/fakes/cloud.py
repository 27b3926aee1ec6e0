#!/usr/bin/env python3
"""A fake cloud recording endpoint (API-FACTS.md section 7) for tests and the local stack, built
on fakehttp.Service: it records every POST and keeps the cloud folders it made.

Run: cloud.py [--token T] [--host 127.0.0.1] [--port 0]
The bound port is printed on stdout, alone on its line.

API (Authorization: Bearer <token>, else 401 {"message"}):
  POST /api/external/v1/recording                 {"files": [FILE, ...], ...} -> 201 {"uuid"}
                                                  (a new cloud folder)
  POST /api/external/v1/recording/inject/{uuid}   {"files": [...]} -> 200 {"uuid"}; unknown
                                                  folder -> 404 {"message"}
  POST /api/external/v1/recording/update-ticket/{uuid}  {"files": [...]} -> 200 {"ok": true};
                                                  unknown folder -> 404 {"message"}
FILE: {"filename", "size", "token", "transcribe"[, "ticket_info": {"ticket_id", ...}]}; a body
without a non-empty files list, a file without filename, or a ticket_info without ticket_id ->
400 {"message": what is wrong}.
Failing or hanging: fakehttp's faults (POST /_control/faults {"status": 503, "count": 2} fails
the next two requests; {"latency_ms": 5000} holds one).
Control API (besides fakehttp's faults, limit, reset and log):
  GET  /_control/posts    {"posts": [{"path", "body", "status"}, ...]}: every POST answered by
                          the routes, in order
  POST /_control/folder   {"uuid"}: makes a cloud folder exist (as if uploaded before)
  POST /_control/next_uuid {"uuid"}: the next first upload answers with this uuid, whatever it
                          is (a cloud answering nonsense)
"""

import argparse
import json
import threading
import uuid

import fakehttp
from fakehttp import Response

PREFIX = "/api/external/v1/recording"


class Cloud(fakehttp.Service):
    def __init__(self, token="cloud-token"):
        self.token = token
        self.data_lock = threading.Lock()
        self.folders = {}
        self.next_uuid = None
        super().__init__()

    def reset(self):
        super().reset()
        with self.lock:
            self.posts = []

    def control(self, method, path, body):
        if method == "GET" and path == "/_control/posts":
            with self.lock:
                return Response(200, {"posts": list(self.posts)})
        if method == "POST" and path == "/_control/folder":
            doc = json.loads(body.decode() or "{}")
            with self.data_lock:
                self.folders.setdefault(doc["uuid"], [])
            return Response(200, {"ok": True})
        if method == "POST" and path == "/_control/next_uuid":
            with self.data_lock:
                self.next_uuid = json.loads(body.decode() or "{}")["uuid"]
            return Response(200, {"ok": True})
        return super().control(method, path, body)

    def route(self, req):
        if req.headers.get("authorization") != "Bearer " + self.token:
            return Response(401, {"message": "invalid token"})
        if req.method != "POST" or not req.path.startswith(PREFIX):
            return Response(404, {"message": "no such route"})
        try:
            doc = json.loads(req.body.decode() or "null")
        except ValueError:
            doc = None
        resp = self.answer(req.path[len(PREFIX):], doc)
        with self.lock:
            self.posts.append({"path": req.path, "body": doc, "status": resp.status})
        return resp

    @staticmethod
    def invalid(doc):
        if not isinstance(doc, dict) or not isinstance(doc.get("files"), list) \
                or not doc["files"]:
            return "files must be a non-empty list"
        for f in doc["files"]:
            if not isinstance(f, dict) or not f.get("filename"):
                return "every file needs a filename"
            ti = f.get("ticket_info")
            if ti is not None and (not isinstance(ti, dict) or not ti.get("ticket_id")):
                return "ticket_info needs a ticket_id"
        return None

    def answer(self, rest, doc):
        why = self.invalid(doc)
        if why:
            return Response(400, {"message": why})
        with self.data_lock:
            if rest in ("", "/"):
                u, self.next_uuid = self.next_uuid or str(uuid.uuid4()), None
                self.folders[u] = list(doc["files"])
                return Response(201, {"uuid": u})
            for verb in ("/inject/", "/update-ticket/"):
                if rest.startswith(verb):
                    u = rest[len(verb):]
                    if u not in self.folders:
                        return Response(404, {"message": "no cloud folder %s" % u})
                    if verb == "/inject/":
                        self.folders[u] += doc["files"]
                        return Response(200, {"uuid": u})
                    return Response(200, {"ok": True})
        return Response(404, {"message": "no such route"})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", default="cloud-token")
    args = ap.parse_args(argv)
    fakehttp.serve(Cloud(args.token), args.host, args.port)


if __name__ == "__main__":
    main()
