#!/usr/bin/env python3
"""A fake Freshservice (REST API v2) for tests and the local stack, built on fakehttp.Service:
serves a fixture made by freshservice_fixture.py, as ../../shared/API-FACTS.md section 1
describes the API.

Run: freshservice.py --fixture PATH [--api-key KEY] [--rate-per-minute N] [--now ISO]
                     [--rebase] [--attachment-base URL] [--attachment-secret S]
                     [--attachment-ttl S] [--host 127.0.0.1] [--port 0]
The bound port is printed on stdout, alone on its line. From a C e2e test:
  const char *args[] = {"--fixture", path, "--rate-per-minute", "60", NULL};
  tfake_start(t, &f, "freshservice.py", args);   then base_url = f.base_url + "/api/v2"

API (all under /api/v2, GET only, HTTP Basic auth "<api key>:<anything>", else 401
{"code": "invalid_credentials", "message": ...}):
  /tickets                   updated_since (updated_at >= t; without it only tickets CREATED in
                             the 30 days before the fake's now), order_type asc|desc (default
                             desc), order_by updated_at|created_at (default updated_at; ties by
                             id), type, requester_id, page (default 1), per_page (default 30,
                             values over 100 clamped to 100), include=requester,stats,department
                             (comma-separated). -> {"tickets": [...]}
  /tickets/{id}              include=conversations (the first 10, oldest first),requester,stats,
                             department. -> {"ticket": {...}} with the detail-only fields
  /tickets/{id}/conversations, /tickets/{id}/time_entries   paged as above, oldest first
  /requesters/{id}           404 when the id is an agent's; /agents/{id} -> {"agent": {...}}
  /departments (paged), /departments/{id}
  Paged lists send `Link: <http://HOST/api/v2/...?...&page=N+1>; rel="next"` while a next
  page exists (absent on the last page). Bad page/per_page/updated_since/order_type/include
  -> 400 {"description": "Validation failed", "errors": [{"field", "message", "code"}]};
  unknown ids and paths -> 404 {"code": "not_found", ...}; other methods -> 405.

Rate limit (--rate-per-minute N; 0 = unlimited, headers then say a total of 100000): every
request under /api/v2 (any path, any status, faults included: failed calls count) costs
1 credit plus 1 per include= value, charged at arrival in a sliding 60 s window. A request
that does not fit answers 429 with Retry-After = whole seconds until enough credits leave the
window; it is not charged itself (so its Retry-After stays true). Every such response,
429 and faults included, carries X-RateLimit-Total, X-RateLimit-Remaining (after this
request) and X-RateLimit-Used-CurrentRequest (0 on a 429). The core's /_control/limit and
/_control/faults work as in fakehttp.py and come after the budget check.

Control API (besides fakehttp's faults, limit, reset and log):
  GET  /_control/log       as fakehttp's, plus "endpoint_counts": {"GET /api/v2/tickets/{id}/
                           conversations": n, ...} (every arrival, digits in a path segment
                           become {id}) and "endpoint" in each entry
  GET  /_control/fetched   {"tickets", "conversations", "time_entries", "requesters", "agents",
                           "listed"}: ticket/user ids of the 200 answers in request order;
                           conversations and time_entries only for page 1 (one fetch of a
                           ticket = one id however many pages it has); "listed" = ids of the
                           tickets returned by /tickets list pages
  POST /_control/touch     {"ids": [...], "at": ISO (default: now), "fields": {...}}: sets the
                           tickets' updated_at (to at/now, or the old value + 1 s when that is
                           not later), merges fields (e.g. subject, description, status,
                           priority), recomputes "expected"; answers {"tickets": [{"id",
                           "updated_at"}]}
  POST /_control/touch_on_list {"page": N, ...as touch}: the touch is made when the next
                           /tickets list request for page N arrives, before that page is
                           read: a ticket changed while a client pages through the list
  POST /_control/now       {"now": ISO} freezes the fake's now; {"now": null} = real clock
  POST /_control/rate      {"per_minute": N}: a new budget, the window emptied
  POST /_control/fixture   {"path": PATH} loads another fixture (rebased if --rebase)
  GET  /_control/fixture   the current fixture (touches applied): a checker reads "expected"
  POST /_control/reset     also clears the fetched lists, endpoint counts and the rate window
                           (the fixture and touches stay)
  POST /_control/conversation {"ticket_id", "conversation": {"id", "body", "attachments": [{"id",
                           "name", "size", "content_type"[, "attachment_url"]}], ...}}: adds a
                           conversation to a ticket. Its attachments without attachment_url get
                           a CloudFront-style signed URL on the attachment host
                           (--attachment-base, signed with --attachment-secret as attachhost.py
                           checks) every time they are served, valid for --attachment-ttl s
  POST /_control/attachment_ttl {"ttl": s, "count": n}: the next n conversation lists sign with
                           this ttl (negative: URLs that have already expired)
Self-test: python3 tests/fakes/test_freshservice.py (ctest fakes_freshservice_selftest).
"""

import argparse
import base64
import copy
import datetime
import json
import math
import re
import sys
import threading
import time
import urllib.parse

import attachhost
import fakehttp
import freshservice_fixture as fxgen
from fakehttp import Response

UNLIMITED_TOTAL = 100000
WINDOW_S = 60.0
FIXTURE_ONLY = ("stats", "conversations", "time_entries", "expected", "skip_reason")
DETAIL_ONLY = {"bcc_emails": [], "sla_policy_id": 1, "applied_business_hours": 1,
               "created_within_business_hours": True, "approval_status": None,
               "approval_status_name": "Not Requested"}
LIST_INCLUDES = {"requester", "stats", "department", "tags", "requested_for"}
TICKET_INCLUDES = {"conversations", "requester", "stats", "department", "tags",
                   "requested_for", "problem", "assets", "change", "related_tickets",
                   "feedback"}
TIME_KEYS = {"due_by", "fr_due_by", "start_time", "executed_at", "now"}


class BadParam(Exception):
    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


def bad_request(field, message):
    return Response(400, {"description": "Validation failed",
                          "errors": [{"field": field, "message": message,
                                      "code": "invalid_value"}]})


def not_found():
    return Response(404, {"code": "not_found", "message": "The requested resource was not found"})


def endpoint_of(method, path):
    return method + " " + "/".join("{id}" if s.isdigit() else s for s in path.split("/"))


def shift_times(doc, delta):
    """Moves every timestamp in a fixture (keys ending in _at, and TIME_KEYS) by delta."""
    if isinstance(doc, list):
        for x in doc:
            shift_times(x, delta)
    elif isinstance(doc, dict):
        for k, v in doc.items():
            if isinstance(v, str) and (k.endswith("_at") or k in TIME_KEYS):
                try:
                    doc[k] = fxgen.fmt_time(fxgen.parse_time(v) + delta)
                except ValueError:
                    pass
            elif isinstance(v, (dict, list)):
                shift_times(v, delta)


class Freshservice(fakehttp.Service):
    def __init__(self, fixture_path, api_key="fs-key", rate_per_minute=0, now=None,
                 rebase=False, att_base="https://tenant.attachments.freshservice.com",
                 att_secret="attach-secret", att_ttl=300):
        self.att_base, self.att_secret, self.att_ttl = att_base, att_secret, att_ttl
        self.api_key = api_key
        self.rate = rate_per_minute
        self.fixed_now = now
        self.rebase = rebase
        self.data_lock = threading.RLock()
        super().__init__()  # calls reset()
        self.load(fixture_path)

    def reset(self):
        super().reset()
        with self.lock:
            self.ttl_overrides = []
            self.list_touches = []  # touch docs with "page", made when that page is listed
            self.endpoint_counts = {}
            self.fetched = {k: [] for k in ("tickets", "conversations", "time_entries",
                                            "requesters", "agents", "listed")}
            self.charges = []  # (t_mono, credits) in the window

    # --- data ---

    def now(self):
        if self.fixed_now is not None:
            return self.fixed_now
        return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    def load(self, path):
        with open(path, encoding="utf-8") as f:
            fx = json.load(f)
        if self.rebase:
            delta = self.now() - fxgen.parse_time(fx["fixture"]["now"])
            shift_times(fx, datetime.timedelta(seconds=int(delta.total_seconds())))
        with self.data_lock:
            self.fx = fx
            self.tickets = {t["id"]: t for t in fx["tickets"]}
            self.requesters = {p["id"]: p for p in fx.get("requesters", [])}
            self.agents = {a["id"]: a for a in fx.get("agents", [])}
            self.departments = {d["id"]: d for d in fx.get("departments", [])}

    def touch(self, doc):
        at = fxgen.parse_time(doc["at"]) if doc.get("at") else self.now()
        out = []
        with self.data_lock:
            for tid in doc.get("ids", []):
                t = self.tickets.get(int(tid))
                if t is None:
                    return Response(404, {"error": "no ticket %s" % tid})
                old = fxgen.parse_time(t["updated_at"])
                new = at if at > old else old + datetime.timedelta(seconds=1)
                t.update(doc.get("fields") or {})
                t["updated_at"] = fxgen.fmt_time(new)
                if t["status"] == 5 and not t["stats"].get("closed_at"):
                    t["stats"]["closed_at"] = t["updated_at"]
                if "description" in (doc.get("fields") or {}):
                    t["description_text"] = " ".join(
                        fxgen.html_to_text(t["description"]).split())
                fxgen.set_expected(t, self.fx)
                out.append({"id": t["id"], "updated_at": t["updated_at"]})
        return Response(200, {"tickets": out})

    # --- the rate budget ---

    def charge(self, t_mono, credits):
        """(ok, headers): charges credits at t_mono unless the window is full."""
        with self.lock:
            total = self.rate if self.rate > 0 else UNLIMITED_TOTAL
            self.charges = [c for c in self.charges if c[0] > t_mono - WINDOW_S]
            used = sum(c[1] for c in self.charges)
            if self.rate > 0 and used + credits > total:
                # A refused call counts too (API-FACTS: "Failed calls count too"): a client
                # that retries before Retry-After keeps its own window full. Charged before
                # the wait is worked out, so that a retry at Retry-After fits.
                self.charges.append((t_mono, 1))
                need, wait = used + 1 + credits - total, WINDOW_S
                for t0, c in self.charges:
                    need -= c
                    if need <= 0:
                        wait = t0 + WINDOW_S - t_mono
                        break
                return False, {"X-RateLimit-Total": str(total),
                               "X-RateLimit-Remaining": "0",
                               "X-RateLimit-Used-CurrentRequest": "1",
                               "Retry-After": str(max(1, math.ceil(wait)))}
            self.charges.append((t_mono, credits))
            return True, {"X-RateLimit-Total": str(total),
                          "X-RateLimit-Remaining": str(max(0, total - used - credits)),
                          "X-RateLimit-Used-CurrentRequest": str(credits)}

    # --- the log ---

    def record(self, method, path, query, headers, t_mono):
        entry = super().record(method, path, query, headers, t_mono)
        key = endpoint_of(method, path)
        with self.lock:
            entry["endpoint"] = key
            self.endpoint_counts[key] = self.endpoint_counts.get(key, 0) + 1
        return entry

    def note_fetch(self, kind, ident):
        with self.lock:
            self.fetched[kind].append(ident)

    def control(self, method, path, body):
        try:
            doc = json.loads(body.decode() or "{}") if method == "POST" else None
        except ValueError:
            return Response(400, {"error": "bad JSON"})
        if method == "GET" and path == "/_control/log":
            with self.lock:
                return Response(200, {"requests": list(self.log), "counts": dict(self.counts),
                                      "endpoint_counts": dict(self.endpoint_counts)})
        if method == "GET" and path == "/_control/fetched":
            with self.lock:
                return Response(200, {k: list(v) for k, v in self.fetched.items()})
        if method == "GET" and path == "/_control/fixture":
            with self.data_lock:
                return Response(200, json.dumps(self.fx, ensure_ascii=False),
                                {"Content-Type": "application/json; charset=utf-8"})
        if method == "POST" and path == "/_control/touch":
            return self.touch(doc)
        if method == "POST" and path == "/_control/touch_on_list":
            with self.lock:
                self.list_touches.append(doc)
            return Response(200, {"ok": True})
        if method == "POST" and path == "/_control/now":
            self.fixed_now = fxgen.parse_time(doc["now"]) if doc.get("now") else None
            return Response(200, {"ok": True, "now": fxgen.fmt_time(self.now())})
        if method == "POST" and path == "/_control/rate":
            with self.lock:
                self.rate = int(doc.get("per_minute", 0))
                self.charges = []
            return Response(200, {"ok": True})
        if method == "POST" and path == "/_control/conversation":
            with self.data_lock:
                t = self.tickets.get(int(doc["ticket_id"]))
                if t is None:
                    return Response(404, {"error": "no ticket %s" % doc["ticket_id"]})
                conv = dict(doc["conversation"])
                conv.setdefault("ticket_id", t["id"])
                conv.setdefault("created_at", t["updated_at"])
                conv.setdefault("updated_at", t["updated_at"])
                for k, v in (("body", "<p>x</p>"), ("body_text", "x"), ("incoming", False),
                             ("private", False), ("user_id", t["requester_id"]), ("source", 0)):
                    conv.setdefault(k, v)
                t["conversations"].append(conv)
            return Response(200, {"ok": True})
        if method == "POST" and path == "/_control/attachment_ttl":
            with self.lock:
                self.ttl_overrides += [int(doc["ttl"])] * int(doc.get("count", 1))
            return Response(200, {"ok": True})
        if method == "POST" and path == "/_control/fixture":
            self.load(doc["path"])
            return Response(200, {"ok": True, "tickets": len(self.tickets)})
        return super().control(method, path, body)

    # --- the API ---

    def route(self, req):
        if not req.path.startswith("/api/v2/"):
            return not_found()
        if not self.authorized(req.headers.get("authorization", "")):
            return Response(401, {"code": "invalid_credentials",
                                  "message": "You have to be logged in to perform this action."})
        if req.method != "GET":
            return Response(405, {"code": "method_not_allowed", "message": "GET only here"})
        parts = req.path[len("/api/v2/"):].strip("/").split("/")
        try:
            return self.dispatch_api(req, parts)
        except BadParam as e:
            return bad_request(e.field, e.message)

    def authorized(self, value):
        if not value.startswith("Basic "):
            return False
        try:
            user = base64.b64decode(value[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        return ":" in user and user.split(":", 1)[0] == self.api_key

    def dispatch_api(self, req, parts):
        n = len(parts)
        ident = int(parts[1]) if n >= 2 and parts[1].isdigit() else None
        if parts[0] == "tickets":
            if n == 1:
                return self.list_tickets(req)
            if ident is None:
                return not_found()
            with self.data_lock:
                t = self.tickets.get(ident)
            if t is None:
                return not_found()
            if n == 2:
                return self.view_ticket(req, t)
            if n == 3 and parts[2] in ("conversations", "time_entries"):
                items = sorted(t[parts[2]], key=lambda x: (x["created_at"], x["id"]))
                view = None
                if parts[2] == "conversations":
                    with self.lock:
                        ttl = self.ttl_overrides.pop(0) if self.ttl_overrides else None
                    view = lambda c: self.signed(c, ttl)
                resp, page = self.paged(req, parts[2], items, view)
                if page == 1:
                    self.note_fetch(parts[2], ident)
                return resp
            return not_found()
        if parts[0] in ("requesters", "agents") and n == 2 and ident is not None:
            table = self.requesters if parts[0] == "requesters" else self.agents
            p = table.get(ident)
            if p is None:
                return not_found()
            self.note_fetch(parts[0], ident)
            return Response(200, {parts[0][:-1]: p})
        if parts[0] == "departments":
            if n == 1:
                return self.paged(req, "departments",
                                  sorted(self.departments.values(), key=lambda d: d["id"]))[0]
            if n == 2 and ident in self.departments:
                return Response(200, {"department": self.departments[ident]})
        return not_found()

    def signed(self, conv, ttl):
        """conv with fresh signed attachment URLs (attachments that have none of their own)."""
        if not any("attachment_url" not in a for a in conv.get("attachments") or []):
            return conv
        out = dict(conv)
        expires = int(time.time()) + (self.att_ttl if ttl is None else ttl)
        out["attachments"] = []
        for a in conv["attachments"]:
            a = dict(a)
            if "attachment_url" not in a:
                path = "/data/helpdesk/attachments/production/%d/original/%s" % (
                    a["id"], urllib.parse.quote(a["name"]))
                a["attachment_url"] = "%s%s?Expires=%d&Signature=%s&Key-Pair-Id=APKAFAKE" % (
                    self.att_base, path, expires, attachhost.sign(self.att_secret, path, expires))
            out["attachments"].append(a)
        return out

    def includes(self, req, allowed):
        vals = [v for q in req.query.get("include", []) for v in q.split(",") if v]
        for v in vals:
            if v not in allowed:
                raise BadParam("include", "It should be one of these values: '%s'"
                               % ",".join(sorted(allowed)))
        return vals

    def ticket_view(self, t, inc, detail=False):
        out = {k: v for k, v in t.items() if k not in FIXTURE_ONLY}
        if detail:
            out.update(copy.deepcopy(DETAIL_ONLY))
        if "stats" in inc:
            out["stats"] = dict(t["stats"])
        if "requester" in inc:
            p = self.requesters.get(t["requester_id"]) or self.agents.get(t["requester_id"])
            if p:
                out["requester"] = {"id": p["id"], "email": p.get("primary_email") or
                                    p.get("email"), "name": " ".join(
                                        x for x in (p["first_name"], p["last_name"]) if x),
                                    "mobile": None, "phone": None}
        if "department" in inc:
            d = self.departments.get(t["department_id"])
            out["department"] = {"id": d["id"], "name": d["name"]} if d else None
        if "conversations" in inc:
            # Signed as the conversations list signs them: Freshservice gives the URLs in both.
            out["conversations"] = [self.signed(c, None) for c in sorted(
                t["conversations"], key=lambda c: (c["created_at"], c["id"]))[:10]]
        if "tags" in inc:
            out.setdefault("tags", [])
        return out

    def view_ticket(self, req, t):
        inc = self.includes(req, TICKET_INCLUDES)
        with self.data_lock:
            body = {"ticket": self.ticket_view(t, inc, detail=True)}
        self.note_fetch("tickets", t["id"])
        return Response(200, body)

    def list_tickets(self, req):
        inc = self.includes(req, LIST_INCLUDES)
        page = self.int_param(req, "page", 1)
        with self.lock:
            due = [d for d in self.list_touches if int(d["page"]) == page]
            self.list_touches = [d for d in self.list_touches if int(d["page"]) != page]
        for doc in due:
            self.touch(doc)
        q = {k: v[-1] for k, v in req.query.items()}
        order = q.get("order_type", "desc")
        if order not in ("asc", "desc"):
            raise BadParam("order_type", "It should be one of these values: 'asc,desc'")
        order_by = q.get("order_by", "updated_at")
        if order_by not in ("updated_at", "created_at"):
            raise BadParam("order_by", "It should be one of these values: "
                           "'created_at,updated_at'")
        if "updated_since" in q:
            try:
                since = fxgen.parse_time(q["updated_since"])
            except ValueError:
                raise BadParam("updated_since", "It should be in the 'valid date' format")
            keep = lambda t: fxgen.parse_time(t["updated_at"]) >= since
        else:
            start = self.now() - datetime.timedelta(days=30)
            keep = lambda t: fxgen.parse_time(t["created_at"]) >= start
        with self.data_lock:
            items = [t for t in self.tickets.values() if keep(t)
                     and not t.get("spam") and not t.get("deleted")
                     and ("type" not in q or t["type"] == q["type"])
                     and ("requester_id" not in q or str(t["requester_id"]) == q["requester_id"])]
            # The API's times all read "YYYY-MM-DDTHH:MM:SSZ": as strings they sort in time order.
            items.sort(key=lambda t: (t[order_by], t["id"]), reverse=(order == "desc"))
            resp, _ = self.paged(req, "tickets", items, lambda t: self.ticket_view(t, inc))
        if resp.status == 200:
            with self.lock:
                self.fetched["listed"].extend(t["id"] for t in json.loads(resp.body)["tickets"])
        return resp

    def paged(self, req, key, items, view=None):
        """(response, page): one page of items (each passed through view) under key, with a
        Link header to the next."""
        page = self.int_param(req, "page", 1)
        per_page = min(100, self.int_param(req, "per_page", 30))
        chunk = items[(page - 1) * per_page: page * per_page]
        if view:
            chunk = [view(x) for x in chunk]
        headers = {}
        if page * per_page < len(items):
            pairs = [(k, v) for k, vs in req.query.items() for v in vs if k != "page"]
            pairs.append(("page", str(page + 1)))
            url = "http://%s%s?%s" % (req.headers.get("host", "localhost"), req.path,
                                      urllib.parse.urlencode(pairs))
            headers["Link"] = '<%s>; rel="next"' % url
        return Response(200, {key: chunk}, headers), page

    @staticmethod
    def int_param(req, name, default):
        v = req.query.get(name, [None])[-1]
        if v is None:
            return default
        if not v.isdigit() or int(v) < 1:
            raise BadParam(name, "It should be a Positive Number")
        return int(v)


class Handler(fakehttp.Handler):
    """fakehttp's handler with the account's rate budget in front of the faults and routes,
    and the rate headers on every API response."""

    def dispatch(self):
        self.rate_headers = None
        super().dispatch()

    def faulted(self, svc, path, entry):
        if path.startswith("/api/v2/") or path == "/api/v2":
            inc = [v for q in entry["query"].get("include", []) for v in q.split(",") if v]
            ok, self.rate_headers = svc.charge(entry["t_mono"], 1 + len(inc))
            if not ok:
                return Response(429, {"errors": [{"message": "rate limit exceeded"}]})
        return super().faulted(svc, path, entry)

    def send(self, resp):
        if self.rate_headers:
            for k, v in self.rate_headers.items():
                resp.headers.setdefault(k, v)
        super().send(resp)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--api-key", default="fs-key")
    ap.add_argument("--rate-per-minute", type=int, default=0)
    ap.add_argument("--now", help="freeze the fake's now (ISO-8601); default: the real clock")
    ap.add_argument("--rebase", action="store_true",
                    help="shift the fixture's times so its 'now' is the fake's now")
    ap.add_argument("--attachment-base", default="https://tenant.attachments.freshservice.com",
                    help="scheme://host[:port] of the signed attachment URLs (attachhost.py)")
    ap.add_argument("--attachment-secret", default="attach-secret")
    ap.add_argument("--attachment-ttl", type=int, default=300)
    args = ap.parse_args(argv)
    svc = Freshservice(args.fixture, args.api_key, args.rate_per_minute,
                       fxgen.parse_time(args.now) if args.now else None, args.rebase,
                       args.attachment_base, args.attachment_secret, args.attachment_ttl)
    fakehttp.serve(svc, args.host, args.port, Handler)


if __name__ == "__main__":
    main()
