#!/usr/bin/env python3
"""A fake TOGA 2 API (../../shared/API-FACTS.md section 5 and 5b) for tests and the local stack,
built on fakehttp.Service: a generic record store behind the TOGA 2 envelope, JWT auth with
expiry, transactionId uniqueness, depth expansion, where/paging and the nested-route traps.

Run: toga.py [--api-key K] [--api-secret S] [--client-uuid U] [--token-ttl 3600]
             [--host 127.0.0.1] [--port 0]
The bound port is printed on stdout, alone on its line. Clients use base_url
http://HOST:PORT/v2 (every API path below is under /v2).

Envelope of every /v2 answer: {"transactionId", "timestamp", "authority", "audience",
"isSuccess" (status is 2xx), "status", "error" (null or text), "messages": [{"code",
"message"}], "meta": {}, "data": {}}.

Auth:
  POST /v2/auth/api      {"apiKey", "apiSecret"[, "clientUuid"]} -> data {"accessToken" (an HS256
                         JWT with exp), "refreshToken", "expiresIn", "refreshExpiresIn"};
                         wrong -> 401 EN-1
  POST /v2/auth/refresh  {"refreshToken"} -> a new pair (the old refresh token stays valid
                         until its own expiry); unknown or expired -> 401 EN-4
  Every other /v2 request needs "Authorization: Bearer <accessToken>": none or bad -> 401
  EN-2, expired -> 401 EN-3.
transactionId: every /v2 request (auth included) carries one, in the X-Transaction-Id header
(or the transactionId query parameter): missing -> 400 EV-4; one seen before (on any earlier
request, faulted or not) -> 400 EV-5. The envelope echoes it.

Records (a generic store; collections: tickets, ticket-notes, ticket-note-files, files,
parameters, contacts, units, predefined-replies, ticket-teams, ticket-categories; the data key
of a collection is its camelCase name: ticketNotes, ticketNoteFiles, predefinedReplies, ...).
Every record has "uuid", "_created" and "_updated" ("YYYY-MM-DD HH:MM:SS", UTC).
References are objects {"uuid": U} (input may give the bare uuid): ticket-notes.ticket,
ticket-note-files.ticketNote and .file, tickets.contact/.unit/.ticketTeam/.ticketCategory.
Children: tickets.ticketNotes (the notes whose ticket is it), ticket-notes.ticketNoteFiles.
  GET  /v2/{coll}           where (query keys "where[FIELD OP VALUE]", or where=FIELD OP VALUE;
                            OP one of = != > >= < <=; VALUE bare or 'quoted'; FIELD may be
                            dotted, e.g. ticket.uuid; several are ANDed), page (1..),
                            recordsPerPage (default 25, max 10000), depth (default 3). Ordered by
                            _updated then creation. -> data {KEY: [...]}, meta {page,
                            recordsPerPage, totalRecords, totalPages}
  GET  /v2/{coll}/{uuid}    depth (default 3) -> data {KEY: {...}}; unknown -> 404 EV-6
  POST /v2/{coll}           creates (a given uuid is kept) -> data {KEY: {...}}
  PUT|PATCH /v2/{coll}/{uuid}  merges the fields -> data {KEY: {...}}
  DELETE /v2/{coll}/{uuid}
Depth: at depth d a reference is expanded (at d-1) when d > 0, else left as {"uuid"}; child
lists appear only when d > 0. A files record carries "data" (base64) only when fetched itself
(GET /v2/files/{uuid}) with depth >= 1; expanded elsewhere it has uuid, name, size, mimeType.
  POST /v2/files            {"name", "data" (base64)[, "mimeType"]}: bad base64 or no name ->
                            400 EV-8; "size" is set from the bytes
  POST /v2/ticket-notes/{uuid}/ticket-note-files  {"file": {"uuid"}} links a file to the note
                            (unknown note or file -> 404 EV-6)
  GET  /v2/ticket-notes/{uuid}/ticket-note-files  NOT a list: 0 links -> 404 EV-6, 1 -> 200
                            {ticketNoteFiles: {...}}, 2+ -> 404 EV-14 "multiple found, expected
                            one" (the trap of section 5)

Control API (besides fakehttp's faults, limit, reset and log):
  GET  /_control/log        as fakehttp's, plus "endpoint_counts" ({"POST /v2/files": n, ...};
                            a path segment that is a uuid becomes {uuid}) and "transaction_ids"
                            (every transactionId received, in order)
  POST /_control/seed       {"collection", "records": [...]} -> {"records": [created ...]}
  GET  /_control/store?collection=C   every record of C, unexpanded (files with data)
  POST /_control/wipe       empties the store
  POST /_control/mode       {"note_files_key": "ticketNotesFiles"} answers notes with the
                            misspelt key (the trap); {"token_ttl": s}; {"expire_tokens": true}
                            expires every access token issued so far;
                            {"stall_after_create": {"collection": C, "seconds": s}} makes the
                            next POST /v2/C store its record and then wait s seconds before
                            answering (a test kills the client in that window; {} turns it off);
                            {"list_order": "desc"} lists newest _updated first (the order of
                            the real API's lists is not documented; "asc", the default, back)
  POST /_control/reset      also clears the endpoint counts (the store, tokens and the
                            transactionIds seen stay: uniqueness is global)
Self-test: python3 tests/fakes/test_toga.py (ctest fakes_toga_selftest).
"""

import argparse
import base64
import binascii
import datetime
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid as uuidlib

import fakehttp
from fakehttp import Response

COLLECTIONS = ("tickets", "ticket-notes", "ticket-note-files", "files", "parameters",
               "contacts", "units", "predefined-replies", "ticket-teams", "ticket-categories")
# field -> collection it references, per collection
REFS = {
    "tickets": {"contact": "contacts", "unit": "units", "ticketTeam": "ticket-teams",
                "ticketCategory": "ticket-categories"},
    "ticket-notes": {"ticket": "tickets"},
    "ticket-note-files": {"ticketNote": "ticket-notes", "file": "files"},
}
# child list key -> (collection, the reference field in the child pointing back)
CHILDREN = {
    "tickets": {"ticketNotes": ("ticket-notes", "ticket")},
    "ticket-notes": {"ticketNoteFiles": ("ticket-note-files", "ticketNote")},
}
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12}$")
WHERE_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(!=|>=|<=|=|>|<)\s*(.*?)\s*$")
MAX_PER_PAGE = 10000


def camel(coll):
    head, *rest = coll.split("-")
    return head + "".join(p.capitalize() for p in rest)


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Toga(fakehttp.Service):
    def __init__(self, api_key="toga-key", api_secret="toga-secret", client_uuid=None,
                 token_ttl=3600):
        self.api_key, self.api_secret = api_key, api_secret
        self.client_uuid = client_uuid or str(uuidlib.uuid4())
        self.token_ttl = token_ttl
        self.jwt_key = secrets.token_bytes(32)
        self.data_lock = threading.RLock()
        self.store = {c: {} for c in COLLECTIONS}
        self.seq = 0
        self.refresh_tokens = {}  # token -> expiry (unix)
        self.expired_before = 0.0  # access tokens issued at or before this are expired
        self.note_files_key = "ticketNoteFiles"
        self.list_order = "asc"
        self.stall_after_create = {}
        self.txn_seen = set()
        self.txn_order = []
        super().__init__()

    def reset(self):
        super().reset()
        with self.lock:
            self.endpoint_counts = {}

    # --- the log: endpoint counts and transactionIds (faulted requests count too) ---

    def record(self, method, path, query, headers, t_mono):
        entry = super().record(method, path, query, headers, t_mono)
        key = method + " " + "/".join("{uuid}" if UUID_RE.match(s) else s
                                      for s in path.split("/"))
        txn = headers.get("x-transaction-id") or (query.get("transactionId") or [None])[0]
        with self.lock:
            entry["endpoint"] = key
            self.endpoint_counts[key] = self.endpoint_counts.get(key, 0) + 1
            entry["transaction_id"] = txn
            if txn:
                entry["txn_reused"] = txn in self.txn_seen
                self.txn_seen.add(txn)
                self.txn_order.append(txn)
        return entry

    def control(self, method, path, body):
        try:
            doc = json.loads(body.decode() or "{}") if method == "POST" else None
        except ValueError:
            return Response(400, {"error": "bad JSON"})
        if method == "GET" and path == "/_control/log":
            with self.lock:
                return Response(200, {"requests": list(self.log), "counts": dict(self.counts),
                                      "endpoint_counts": dict(self.endpoint_counts),
                                      "transaction_ids": list(self.txn_order)})
        if method == "GET" and path.startswith("/_control/store"):
            return self.control_store(path)
        if method == "POST" and path == "/_control/seed":
            return self.control_seed(doc)
        if method == "POST" and path == "/_control/wipe":
            with self.data_lock:
                self.store = {c: {} for c in COLLECTIONS}
            return Response(200, {"ok": True})
        if method == "POST" and path == "/_control/mode":
            return self.control_mode(doc)
        return super().control(method, path, body)

    def control_store(self, path):
        # fakehttp hands control() the path only; the collection rides in the path or query
        # is lost, so it is given as /_control/store/<collection>.
        coll = path[len("/_control/store"):].strip("/")
        if coll not in self.store:
            return Response(404, {"error": "unknown collection %r" % coll})
        with self.data_lock:
            return Response(200, {"records": sorted(self.store[coll].values(),
                                                    key=lambda r: r["_seq"])})

    def control_seed(self, doc):
        coll = doc.get("collection")
        if coll not in self.store:
            return Response(400, {"error": "unknown collection %r" % coll})
        try:
            out = [self.create(coll, dict(r), keep_times=True) for r in doc.get("records", [])]
        except ApiError as e:
            return Response(400, {"error": e.message})
        return Response(200, {"records": out})

    def control_mode(self, doc):
        with self.lock:
            if "note_files_key" in doc:
                self.note_files_key = doc["note_files_key"]
            if "list_order" in doc:
                self.list_order = doc["list_order"]
            if "token_ttl" in doc:
                self.token_ttl = int(doc["token_ttl"])
            if "stall_after_create" in doc:
                self.stall_after_create = dict(doc["stall_after_create"] or {})
            if doc.get("expire_tokens"):
                self.expired_before = time.time()
        return Response(200, {"ok": True})

    # --- the envelope ---

    def envelope(self, req, status, data=None, meta=None, code=None, message=None):
        return Response(status, {
            "transactionId": req.entry.get("transaction_id"),
            "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "authority": "toga2-fake", "audience": self.client_uuid,
            "isSuccess": 200 <= status < 300, "status": status,
            "error": message if status >= 300 else None,
            "messages": [{"code": code, "message": message}] if code else [],
            "meta": meta or {}, "data": data if data is not None else {}})

    # --- auth ---

    def issue(self):
        now = time.time()
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = b64url(json.dumps({"sub": self.client_uuid, "iat": now,
                                     "exp": now + self.token_ttl,
                                     "jti": str(uuidlib.uuid4())}).encode())
        sig = b64url(hmac.new(self.jwt_key, (header + "." + payload).encode(),
                              hashlib.sha256).digest())
        refresh = secrets.token_urlsafe(32)
        with self.lock:
            self.refresh_tokens[refresh] = now + 30 * 86400
        return {"accessToken": header + "." + payload + "." + sig, "refreshToken": refresh,
                "expiresIn": self.token_ttl, "refreshExpiresIn": 30 * 86400}

    def check_bearer(self, value):
        if not value.startswith("Bearer "):
            raise ApiError(401, "EN-2", "missing bearer token")
        parts = value[7:].strip().split(".")
        if len(parts) != 3:
            raise ApiError(401, "EN-2", "malformed token")
        sig = b64url(hmac.new(self.jwt_key, (parts[0] + "." + parts[1]).encode(),
                              hashlib.sha256).digest())
        if not hmac.compare_digest(sig, parts[2]):
            raise ApiError(401, "EN-2", "invalid token")
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        if claims["exp"] <= time.time() or claims["iat"] <= self.expired_before:
            raise ApiError(401, "EN-3", "token expired")

    def auth_route(self, req, what):
        doc = self.body_json(req)
        if what == "api":
            if doc.get("apiKey") != self.api_key or doc.get("apiSecret") != self.api_secret:
                raise ApiError(401, "EN-1", "invalid API credentials")
            return self.envelope(req, 200, self.issue())
        if what == "refresh":
            with self.lock:
                exp = self.refresh_tokens.get(doc.get("refreshToken") or "")
            if exp is None or exp <= time.time():
                raise ApiError(401, "EN-4", "invalid or expired refresh token")
            return self.envelope(req, 200, self.issue())
        raise ApiError(404, "EV-6", "no such auth route")

    # --- the API ---

    def route(self, req):
        if not req.path.startswith("/v2/"):
            return Response(404, {"error": "not a TOGA 2 path"})
        try:
            return self.api(req)
        except ApiError as e:
            return self.envelope(req, e.status, code=e.code, message=e.message)

    def api(self, req):
        txn = req.entry.get("transaction_id")
        if not txn:
            raise ApiError(400, "EV-4", "transactionId is required")
        if req.entry.get("txn_reused"):
            raise ApiError(400, "EV-5", "transactionId %s was already used" % txn)
        parts = req.path[len("/v2/"):].strip("/").split("/")
        if parts[0] == "auth" and len(parts) == 2 and req.method == "POST":
            return self.auth_route(req, parts[1])
        self.check_bearer(req.headers.get("authorization", ""))
        coll = parts[0]
        if coll not in self.store:
            raise ApiError(404, "EV-6", "unknown resource %s" % coll)
        depth = self.int_param(req, "depth", 3, 0, 10)
        if len(parts) == 1:
            if req.method == "GET":
                return self.list(req, coll, depth)
            if req.method == "POST":
                rec = self.create(coll, self.body_json(req))
                self.stall_if_asked(coll)
                return self.envelope(req, 200, {camel(coll): self.view(coll, rec, depth)})
        elif len(parts) == 2:
            return self.one(req, coll, parts[1], depth)
        elif len(parts) == 3 and coll == "ticket-notes" and parts[2] == "ticket-note-files":
            return self.nested_note_files(req, parts[1], depth)
        raise ApiError(405 if len(parts) <= 2 else 404, "EV-6",
                       "%s %s is not supported" % (req.method, req.path))

    def stall_if_asked(self, coll):
        # The record is stored; the answer waits, once, so the client dies without the uuid.
        with self.lock:
            stall = self.stall_after_create
            if stall.get("collection") != coll:
                return
            self.stall_after_create = {}
        time.sleep(float(stall.get("seconds", 30)))

    def one(self, req, coll, ident, depth):
        with self.data_lock:
            rec = self.store[coll].get(ident)
            if rec is None:
                raise ApiError(404, "EV-6", "%s %s not found" % (coll, ident))
            if req.method == "GET":
                view = self.view(coll, rec, depth, top=True)
                return self.envelope(req, 200, {camel(coll): view})
            if req.method in ("PUT", "PATCH"):
                doc = self.body_json(req)
                doc.pop("uuid", None)
                rec.update(self.normalise(coll, doc))
                rec["_updated"] = now_text()
                return self.envelope(req, 200, {camel(coll): self.view(coll, rec, depth)})
            if req.method == "DELETE":
                del self.store[coll][ident]
                return self.envelope(req, 200, {})
        raise ApiError(405, "EV-6", "method not allowed")

    def nested_note_files(self, req, note, depth):
        with self.data_lock:
            if note not in self.store["ticket-notes"]:
                raise ApiError(404, "EV-6", "ticket note %s not found" % note)
            if req.method == "POST":
                doc = self.body_json(req)
                doc["ticketNote"] = {"uuid": note}
                rec = self.create("ticket-note-files", doc)
                return self.envelope(req, 200, {"ticketNoteFiles":
                                                self.view("ticket-note-files", rec, depth)})
            if req.method != "GET":
                raise ApiError(405, "EV-6", "method not allowed")
            links = [r for r in self.store["ticket-note-files"].values()
                     if (r.get("ticketNote") or {}).get("uuid") == note]
            if not links:
                raise ApiError(404, "EV-6", "ticket note file not found")
            if len(links) > 1:
                raise ApiError(404, "EV-14", "multiple found, expected one")
            return self.envelope(req, 200, {"ticketNoteFiles":
                                            self.view("ticket-note-files", links[0], depth)})

    def list(self, req, coll, depth):
        page = self.int_param(req, "page", 1, 1, 10 ** 9)
        per = self.int_param(req, "recordsPerPage", 25, 1, MAX_PER_PAGE)
        conds = self.where(req)
        with self.data_lock:
            recs = [r for r in self.store[coll].values()
                    if all(self.match(r, c) for c in conds)]
            recs.sort(key=lambda r: (r.get("_updated") or "", r["_seq"]),
                      reverse=self.list_order == "desc")
            chunk = [self.view(coll, r, depth) for r in recs[(page - 1) * per: page * per]]
        total = len(recs)
        return self.envelope(req, 200, {camel(coll): chunk},
                             {"page": page, "recordsPerPage": per, "totalRecords": total,
                              "totalPages": (total + per - 1) // per})

    # --- where ---

    def where(self, req):
        exprs = []
        for k, vs in req.query.items():
            if k.startswith("where["):
                # An unencoded '=' (where[key = 'K']) splits the expression into name and
                # value; put it back together.
                for v in vs:
                    e = k + ("=" + v if v else "")
                    if not e.endswith("]"):
                        raise ApiError(400, "EV-7", "bad where expression %r" % e)
                    exprs.append(e[6:-1])
            elif k == "where":
                exprs += vs
        conds = []
        for e in exprs:
            m = WHERE_RE.match(e)
            if not m:
                raise ApiError(400, "EV-7", "bad where expression %r" % e)
            field, op, val = m.groups()
            if len(val) >= 2 and val[0] == val[-1] and val[0] in "'\"":
                val = val[1:-1]
            conds.append((field, op, val))
        return conds

    @staticmethod
    def match(rec, cond):
        field, op, val = cond
        cur = rec
        for p in field.split("."):
            cur = cur.get(p) if isinstance(cur, dict) else None
        if isinstance(cur, bool):
            cur = "true" if cur else "false"
        if cur is None:
            return op == "=" and val.lower() == "null" or op == "!=" and val.lower() != "null"
        a, b = cur, val
        if isinstance(cur, (int, float)):
            try:
                b = float(val)
            except ValueError:
                a = str(cur)
        else:
            a = str(cur)
        return {"=": a == b, "!=": a != b, ">": a > b, ">=": a >= b, "<": a < b,
                "<=": a <= b}[op]

    # --- the store ---

    def normalise(self, coll, doc):
        for field in REFS.get(coll, {}):
            v = doc.get(field)
            if isinstance(v, str):
                doc[field] = {"uuid": v}
        return doc

    def create(self, coll, doc, keep_times=False):
        if not isinstance(doc, dict):
            raise ApiError(400, "EV-8", "the body must be an object")
        doc = self.normalise(coll, doc)
        for field, target in REFS.get(coll, {}).items():
            ref = doc.get(field)
            if ref and ref.get("uuid") not in self.store[target]:
                raise ApiError(404, "EV-6", "%s %s not found" % (field, ref.get("uuid")))
        if coll == "files":
            self.check_file(doc)
        now = now_text()
        with self.data_lock:
            self.seq += 1
            doc["uuid"] = doc.get("uuid") or str(uuidlib.uuid4())
            if not keep_times or "_created" not in doc:
                doc["_created"] = now
            if not keep_times or "_updated" not in doc:
                doc["_updated"] = now
            doc["_seq"] = self.seq
            self.store[coll][doc["uuid"]] = doc
        return self.strip(doc)

    @staticmethod
    def check_file(doc):
        if not isinstance(doc.get("name"), str) or not doc["name"]:
            raise ApiError(400, "EV-8", "files need a name")
        try:
            raw = base64.b64decode(doc.get("data") or "", validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise ApiError(400, "EV-8", "files.data is not base64")
        doc["size"] = len(raw)

    @staticmethod
    def strip(rec):
        return {k: v for k, v in rec.items() if k != "_seq"}

    def view(self, coll, rec, depth, top=False):
        out = self.strip(rec)
        if coll == "files" and not (top and depth >= 1):
            out.pop("data", None)
        for field, target in REFS.get(coll, {}).items():
            ref = rec.get(field)
            if ref and depth > 0 and ref.get("uuid") in self.store[target]:
                out[field] = self.view(target, self.store[target][ref["uuid"]], depth - 1)
        for key, (ccoll, back) in CHILDREN.get(coll, {}).items():
            if depth <= 0:
                continue
            kids = [r for r in self.store[ccoll].values()
                    if (r.get(back) or {}).get("uuid") == rec["uuid"]]
            kids.sort(key=lambda r: r["_seq"])
            if key == "ticketNoteFiles":
                key = self.note_files_key
            out[key] = [self.view(ccoll, k, depth - 1) for k in kids]
        return out

    # --- helpers ---

    @staticmethod
    def body_json(req):
        try:
            doc = json.loads(req.body.decode() or "{}")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "EV-8", "the body is not JSON")
        if not isinstance(doc, dict):
            raise ApiError(400, "EV-8", "the body must be an object")
        return doc

    @staticmethod
    def int_param(req, name, default, lo, hi):
        v = req.query.get(name, [None])[-1]
        if v is None:
            return default
        if not v.isdigit() or not lo <= int(v) <= hi:
            raise ApiError(400, "EV-7", "%s must be a number from %d to %d" % (name, lo, hi))
        return int(v)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api-key", default="toga-key")
    ap.add_argument("--api-secret", default="toga-secret")
    ap.add_argument("--client-uuid")
    ap.add_argument("--token-ttl", type=int, default=3600)
    args = ap.parse_args(argv)
    fakehttp.serve(Toga(args.api_key, args.api_secret, args.client_uuid, args.token_ttl),
                   args.host, args.port)


if __name__ == "__main__":
    main()
