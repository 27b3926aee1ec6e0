#!/usr/bin/env python3
"""A fake ERPNext/Frappe REST API (v1 /api/resource) for tests and the local stack, built on
fakehttp.Service, as ../../shared/API-FACTS.md section 3 describes the API.

Run: frappe.py [--api-key fr-key] [--api-secret fr-secret] [--seed-file PATH]
               [--unique-error 409|417] [--host 127.0.0.1] [--port 0]
The bound port is printed on stdout, alone on its line. From a C e2e test:
  const char *args[] = {"--seed-file", path, "--unique-error", "417", NULL};
  tfake_start(t, &f, "frappe.py", args);   then base_url = f.base_url (no path suffix)

Doctypes (in memory; a document is a JSON object):
  Customer          name, customer_name, legacy_account_id        name = customer_name
  Service Location  name, customer (-> Customer), city, latitude, longitude   name SL-00001..
  Dispatch Job      name, legacy_ticket_id (UNIQUE), ticket_id, subject, customer (-> Customer),
                    service_location (-> Service Location), latitude, longitude, job_type,
                    scheduled_date, start_time, duration_h, priority, status (open | assigned |
                    completed | cancelled), assigned_to                        name DJ-00001..
    mandatory: legacy_ticket_id, ticket_id, subject, status
  Every document also has the standard fields doctype, owner, creation, modified (a strictly
  increasing "YYYY-MM-DD HH:MM:SS.ffffff", UTC), modified_by, docstatus (0), idx (0).
  Values are stored as sent (no type coercion), except Time fields (start_time): MariaDB keeps
  them as TIME and Frappe answers them as Python prints a timedelta, without the hour's
  leading zero ("08:00" is answered "8:00:00", "14:05" "14:05:00"). Body fields that are not
  fields of the doctype are dropped, as Frappe does not store them.

Auth: every /api request needs `Authorization: token <api key>:<api secret>`; missing or
wrong -> 403 PermissionError.

API (the DocType and name are URL-encoded path segments: /api/resource/Dispatch%20Job/DJ-00001):
  GET    /api/resource/{DocType}       -> {"data": [{...}, ...]}
           fields             JSON array of field names; default ["name"]; ["*"] = all fields
           filters            [["DocType","field","op",v], ...], [["field","op",v], ...] or
           or_filters           {"field": v, "field2": ["op", v]}; filters are ANDed, or_filters
                              ORed. ops: = != < > <= >= in, not in (a list or "a,b"), like,
                              not like (% and _, case-insensitive), is ("set"|"not set"),
                              between [a, b]. Numbers and numeric strings compare as numbers
                              (as MariaDB does: legacy_ticket_id 42 matches "42").
           order_by           "field asc|desc[, field2 ...]" (a `tabX`. prefix is allowed);
                              default "modified desc"
           limit_start        default 0
           limit_page_length  default 20; 0 = all (`limit` is an alias)
         Unknown fields in fields/filters/order_by or malformed JSON -> 417 DataError.
  GET    /api/resource/{DocType}/{name} -> {"data": {full doc}}; unknown -> 404
  POST   /api/resource/{DocType}       JSON document body (or {"data": {...}}) -> {"data": {full
                                       doc incl. name}}. name is generated unless given.
  PUT    /api/resource/{DocType}/{name} partial JSON -> {"data": {full doc}}; bumps modified.
                                       A "modified" in the body that is not the current one ->
                                       417 TimestampMismatchError; name/doctype/creation ignored.
  DELETE /api/resource/{DocType}/{name} -> {"message": "ok"}
  GET    /api/method/frappe.auth.get_logged_user -> {"message": "Administrator"}
Errors: status and exc_type as in API-FACTS section 3, body
  {"exc_type": T, "exception": "frappe.exceptions.T: ...", "exc": "[\\"Traceback ...\\"]"
   (a JSON-encoded string), "_server_messages": "[\\"{\\\\\\"message\\\\\\": ...}\\"]" (a JSON-
   encoded list of JSON-encoded {"message": ...})}:
  403 PermissionError (auth); 404 DoesNotExistError (unknown doctype or name; other paths);
  409 DuplicateEntryError (a given name that exists; a duplicate legacy_ticket_id with
  --unique-error 409); 417 UniqueValidationError (a duplicate legacy_ticket_id with
  --unique-error 417); 417 MandatoryError (a mandatory field missing or empty on POST, or
  emptied by PUT; the message names the field: "Error: Value missing for Dispatch Job:
  subject"); 417 LinkValidationError (customer / service_location naming no document);
  417 ValidationError (a status not in the options); 415 UnsupportedMediaType (a POST/PUT
  body that is not a JSON object); 405 for other methods.
  The unique check and the insert are one step under a lock: concurrent POSTs of one
  legacy_ticket_id make exactly one document; the others get the unique error.

Control API (besides fakehttp's faults, limit and log; faults apply to /api paths, e.g.
{"path": "/api/resource/Dispatch%20Job", "method": "POST", "status": 503}):
  POST /_control/docs      {"doctype": D, "docs": [{...}, ...]}: adds or replaces documents
                           by name (generated when absent), no validation; standard fields
                           filled in. -> {"ok": true, "names": [...]}
  POST /_control/patch     {"doctype": D, "name": N, "fields": {...}}: merges fields into one
                           document and bumps modified, as a dispatcher's edit in the UI would
                           (e.g. {"status": "assigned", "assigned_to": "tech@x"}); not a write
                           in /_control/writes. -> {"ok": true, "data": {doc}}; 404 unknown
  POST /_control/delete    {"doctype": D, "name": N} -> {"ok": true}; 404 unknown
  POST /_control/unique_error {"status": 409|417}: switches the unique-violation error
  POST /_control/ignore_limit_start {"on": true}: lists answer from the first document
                           whatever limit_start says (a server or proxy that drops it)
  GET  /_control/docs?doctype=D  -> {"docs": [...]} in creation order;
                           without doctype -> {"docs": {"Customer": [...], ...}}
  GET  /_control/writes    -> {"writes": [WRITE, ...]} in arrival order
  GET  /_control/log       as fakehttp's, plus "doctype_counts": {"GET Dispatch Job": n,
                           "GET Dispatch Job/{name}": n, "POST Dispatch Job": n, "PUT Dispatch
                           Job/{name}": n, "DELETE Dispatch Job/{name}": n, ...} (every
                           arrival, faulted ones too), "writes" and "docs" (as above, so a C
                           test can read everything through tfake_log)
  POST /_control/reset     fakehttp's reset, plus the writes and doctype counts; the documents
                           stay, unless the body is {"docs": true}: then they go back to the
                           seed file's (or none)
WRITE: {"seq", "method" (POST|PUT|DELETE), "doctype", "name" (null for a POST that failed
        before naming), "body" (the parsed JSON body, or the raw text), "status"}: every
        POST/PUT/DELETE under /api/resource that reached the routes (failed ones included; a
        request answered by an injected fault is not one: see /_control/log for those).

Seed file: {"Customer": [{...}], "Service Location": [{...}], "Dispatch Job": [{...}]},
loaded like /_control/docs.
Self-test: python3 tests/fakes/test_frappe.py (ctest fakes_frappe_selftest).
"""

import argparse
import datetime
import json
import re
import threading
import urllib.parse

import fakehttp
from fakehttp import Response

STANDARD = ["name", "doctype", "owner", "creation", "modified", "modified_by", "docstatus",
            "idx"]
DOCTYPES = {
    "Customer": {
        "fields": ["customer_name", "legacy_account_id"],
        "mandatory": ["customer_name"],
        "naming": "customer_name",
        "links": {},
        "unique": [],
        "options": {},
    },
    "Service Location": {
        "fields": ["customer", "city", "latitude", "longitude"],
        "mandatory": [],
        "naming": "SL-",
        "links": {"customer": "Customer"},
        "unique": [],
        "options": {},
    },
    "Dispatch Job": {
        "fields": ["legacy_ticket_id", "ticket_id", "subject", "customer", "service_location",
                   "latitude", "longitude", "job_type", "scheduled_date", "start_time",
                   "duration_h", "priority", "status", "assigned_to"],
        "mandatory": ["legacy_ticket_id", "ticket_id", "subject", "status"],
        "naming": "DJ-",
        "links": {"customer": "Customer", "service_location": "Service Location"},
        "unique": ["legacy_ticket_id"],
        "options": {"status": ["open", "assigned", "completed", "cancelled"]},
        "time": ["start_time"],
    },
}

TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?$")


def frappe_time(v):
    """A Time field's value as Frappe answers it (frappe.utils.format_timedelta: H:MM:SS)."""
    m = TIME_RE.match(v) if isinstance(v, str) else None
    if not m:
        return v
    frac = m.group(4) or ""
    return "%d:%s:%s%s" % (int(m.group(1)), m.group(2), m.group(3) or "00",
                           frac.rstrip("0").rstrip("."))


class FrappeError(Exception):
    def __init__(self, status, exc_type, message, detail=None):
        super().__init__(message)
        self.status = status
        self.exc_type = exc_type
        self.message = message
        self.detail = detail if detail is not None else message


def error_response(status, exc_type, message, detail=None):
    exception = "frappe.exceptions.%s: %s" % (exc_type, detail if detail is not None
                                               else message)
    tb = ("Traceback (most recent call last):\n  File \"apps/frappe/frappe/app.py\", line 114,"
          " in application\n    response = frappe.api.handle(request)\n%s\n" % exception)
    return Response(status, {
        "exc_type": exc_type,
        "exception": exception,
        "exc": json.dumps([tb]),
        "_server_messages": json.dumps([json.dumps({"message": message, "title": "Message",
                                                    "indicator": "red", "raise_exception": 1})]),
    })


def num(v):
    """v as a float when it is a number or a numeric string, else None."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def same(a, b):
    na, nb = num(a), num(b)
    if na is not None and nb is not None:
        return na == nb
    return ("" if a is None else str(a)) == ("" if b is None else str(b))


def sort_key(v):
    if v is None or v == "":
        return (0, 0, "")
    n = num(v)
    if n is not None:
        return (1, n, "")
    return (2, 0, str(v))


def like(value, pattern):
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in str(pattern))
    return re.fullmatch(rx, "" if value is None else str(value), re.I | re.S) is not None


def compare(value, op, arg):
    op = op.strip().lower()
    if op in ("=", "=="):
        return same(value, arg)
    if op in ("!=", "<>"):
        return not same(value, arg)
    if op in ("in", "not in"):
        items = arg if isinstance(arg, list) else [x.strip() for x in str(arg).split(",")]
        hit = any(same(value, x) for x in items)
        return hit if op == "in" else not hit
    if op in ("like", "not like"):
        hit = like(value, arg)
        return hit if op == "like" else not hit
    if op == "is":
        is_set = value is not None and value != ""
        return is_set if str(arg).lower() == "set" else not is_set
    if op in ("<", ">", "<=", ">="):
        if value is None:
            return False
        a, b = sort_key(value), sort_key(arg)
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
    if op == "between":
        lo, hi = arg
        return value is not None and sort_key(lo) <= sort_key(value) <= sort_key(hi)
    raise FrappeError(417, "DataError", "Unsupported operator: %s" % op)


class Frappe(fakehttp.Service):
    def __init__(self, api_key="fr-key", api_secret="fr-secret", seed_file=None,
                 unique_error=409):
        self.api_key = api_key
        self.api_secret = api_secret
        self.seed_file = seed_file
        self.unique_error = unique_error
        self.ignore_limit_start = False
        self.data_lock = threading.RLock()
        self.last_modified = None
        super().__init__()  # calls reset()
        self.load_seed()

    def reset(self):
        super().reset()
        with self.lock:
            self.writes = []
            self.doctype_counts = {}

    # --- data ---

    def load_seed(self):
        with self.data_lock:
            self.docs = {d: {} for d in DOCTYPES}  # doctype -> name -> doc (insertion order)
            self.serial = {d: 0 for d in DOCTYPES}
            if self.seed_file:
                with open(self.seed_file, encoding="utf-8") as f:
                    seed = json.load(f)
                for doctype, docs in seed.items():
                    self.put_docs(doctype, docs)

    def stamp(self):
        """A modified timestamp later than every one before (called under data_lock)."""
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        if self.last_modified is not None and now <= self.last_modified:
            now = self.last_modified + datetime.timedelta(microseconds=1)
        self.last_modified = now
        return now.strftime("%Y-%m-%d %H:%M:%S.%f")

    def new_name(self, doctype, doc):
        naming = DOCTYPES[doctype]["naming"]
        if naming.endswith("-"):
            while True:
                self.serial[doctype] += 1
                name = "%s%05d" % (naming, self.serial[doctype])
                if name not in self.docs[doctype]:
                    return name
        return doc.get(naming) or None

    def fresh(self, doctype, name, fields):
        ts = self.stamp()
        doc = {"name": name, "doctype": doctype, "owner": "Administrator", "creation": ts,
               "modified": ts, "modified_by": "Administrator", "docstatus": 0, "idx": 0}
        for f in DOCTYPES[doctype]["fields"]:
            doc[f] = fields.get(f)
        for f in DOCTYPES[doctype].get("time", []):
            doc[f] = frappe_time(doc[f])
        return doc

    def put_docs(self, doctype, docs):
        if doctype not in DOCTYPES:
            raise FrappeError(404, "DoesNotExistError", "DocType %s not found" % doctype)
        names = []
        with self.data_lock:
            for d in docs:
                name = d.get("name") or self.new_name(doctype, d)
                if not name:
                    raise FrappeError(400, "ValidationError", "a %s needs a name" % doctype)
                doc = self.fresh(doctype, name, d)
                for k, v in d.items():
                    if k in ("owner", "creation", "modified", "modified_by", "docstatus",
                             "idx"):
                        doc[k] = v
                self.docs[doctype][name] = doc
                names.append(name)
        return names

    # --- the log ---

    def record(self, method, path, query, headers, t_mono):
        entry = super().record(method, path, query, headers, t_mono)
        parts = path.strip("/").split("/")
        if len(parts) >= 3 and parts[0] == "api" and parts[1] == "resource":
            key = method + " " + urllib.parse.unquote(parts[2])
            if len(parts) > 3:
                key += "/{name}"
            with self.lock:
                self.doctype_counts[key] = self.doctype_counts.get(key, 0) + 1
        return entry

    def all_docs(self, doctype=None):
        with self.data_lock:
            if doctype is not None:
                return [dict(d) for d in self.docs.get(doctype, {}).values()]
            return {d: [dict(x) for x in v.values()] for d, v in self.docs.items()}

    def control(self, method, path, body):
        try:
            doc = json.loads(body.decode() or "{}") if method == "POST" else None
        except ValueError:
            return Response(400, {"error": "bad JSON"})
        if method == "GET":
            if path == "/_control/writes":
                with self.lock:
                    return Response(200, {"writes": [dict(w) for w in self.writes]})
            if path == "/_control/log":
                resp = super().control(method, path, body)
                out = json.loads(resp.body)
                with self.lock:
                    out["doctype_counts"] = dict(self.doctype_counts)
                    out["writes"] = [dict(w) for w in self.writes]
                out["docs"] = self.all_docs()
                return Response(200, out)
        if method == "POST":
            try:
                if path == "/_control/docs":
                    names = self.put_docs(doc["doctype"], doc.get("docs", []))
                    return Response(200, {"ok": True, "names": names})
                if path == "/_control/patch":
                    with self.data_lock:
                        d = self.docs.get(doc["doctype"], {}).get(doc["name"])
                        if d is None:
                            return Response(404, {"error": "no such document"})
                        d.update(doc.get("fields") or {})
                        d["modified"] = self.stamp()
                        return Response(200, {"ok": True, "data": dict(d)})
                if path == "/_control/delete":
                    with self.data_lock:
                        if self.docs.get(doc["doctype"], {}).pop(doc["name"], None) is None:
                            return Response(404, {"error": "no such document"})
                    return Response(200, {"ok": True})
                if path == "/_control/ignore_limit_start":
                    self.ignore_limit_start = bool(doc["on"])
                    return Response(200, {"ok": True})
                if path == "/_control/unique_error":
                    if int(doc["status"]) not in (409, 417):
                        return Response(400, {"error": "status is 409 or 417"})
                    self.unique_error = int(doc["status"])
                    return Response(200, {"ok": True})
                if path == "/_control/reset":
                    if isinstance(doc, dict) and doc.get("docs"):
                        self.load_seed()
                    return super().control(method, path, b"{}")
            except FrappeError as e:
                return Response(400 if e.status == 417 else e.status, {"error": e.message})
            except (KeyError, TypeError, ValueError) as e:
                return Response(400, {"error": "bad control document: %r" % (e,)})
        return super().control(method, path, body)

    # --- the API ---

    def route(self, req):
        parts = [urllib.parse.unquote(p) for p in req.path.strip("/").split("/")]
        write = None
        if (len(parts) >= 3 and parts[:2] == ["api", "resource"]
                and req.method in ("POST", "PUT", "DELETE")):
            try:
                wbody = json.loads(req.body.decode()) if req.body else None
            except (ValueError, UnicodeDecodeError):
                wbody = req.body.decode("utf-8", "replace")
            write = {"seq": req.entry["seq"], "method": req.method, "doctype": parts[2],
                     "name": parts[3] if len(parts) > 3 else None, "body": wbody,
                     "status": None}
            with self.lock:
                self.writes.append(write)
        try:
            resp = self.api(req, parts, write)
        except FrappeError as e:
            resp = error_response(e.status, e.exc_type, e.message, e.detail)
        if write is not None:
            with self.lock:
                write["status"] = resp.status
        return resp

    def authorized(self, value):
        if not value.lower().startswith("token "):
            return False
        return value[6:].strip() == "%s:%s" % (self.api_key, self.api_secret)

    def api(self, req, parts, write):
        if not parts or parts[0] != "api":
            raise FrappeError(404, "DoesNotExistError", "Page not found")
        if not self.authorized(req.headers.get("authorization", "")):
            doctype = parts[2] if len(parts) > 2 else "this resource"
            raise FrappeError(403, "PermissionError", "Insufficient Permission for %s" % doctype)
        if parts[1:] == ["method", "frappe.auth.get_logged_user"]:
            return Response(200, {"message": "Administrator"})
        if len(parts) < 3 or parts[1] != "resource" or len(parts) > 4:
            raise FrappeError(404, "DoesNotExistError", "Page not found")
        doctype = parts[2]
        if doctype not in DOCTYPES:
            raise FrappeError(404, "DoesNotExistError", "DocType %s not found" % doctype)
        name = parts[3] if len(parts) == 4 else None
        if req.method == "GET":
            if name is None:
                return self.list_docs(req, doctype)
            with self.data_lock:
                return Response(200, {"data": dict(self.get_doc(doctype, name))})
        if req.method == "POST" and name is None:
            return self.insert(doctype, self.json_body(req), write)
        if req.method == "PUT" and name is not None:
            return self.update(doctype, name, self.json_body(req))
        if req.method == "DELETE" and name is not None:
            with self.data_lock:
                self.get_doc(doctype, name)
                del self.docs[doctype][name]
            return Response(200, {"message": "ok"})
        return Response(405, {"exc_type": "MethodNotAllowed",
                              "exception": "Method not allowed"})

    def get_doc(self, doctype, name):
        d = self.docs[doctype].get(name)
        if d is None:
            raise FrappeError(404, "DoesNotExistError", "%s %s not found" % (doctype, name))
        return d

    @staticmethod
    def json_body(req):
        try:
            body = json.loads(req.body.decode())
        except (ValueError, UnicodeDecodeError):
            body = None
        if isinstance(body, dict) and set(body) == {"data"}:
            body = body["data"]
            if isinstance(body, str):
                try:
                    body = json.loads(body)
                except ValueError:
                    body = None
        if not isinstance(body, dict):
            raise FrappeError(415, "UnsupportedMediaType",
                              "Unsupported Media Type: the body is not a JSON object")
        return body

    # Validation, called under data_lock with the document as it would be saved.

    def validate(self, doctype, doc, name):
        meta = DOCTYPES[doctype]
        for f in meta["mandatory"]:
            if doc.get(f) is None or doc.get(f) == "":
                raise FrappeError(417, "MandatoryError",
                                  "Error: Value missing for %s: %s" % (doctype, f),
                                  "[%s, %s]: %s" % (doctype, name or "New " + doctype, f))
        for f, opts in meta["options"].items():
            v = doc.get(f)
            if v not in (None, "") and v not in opts:
                raise FrappeError(417, "ValidationError",
                                  '%s cannot be "%s". It should be one of "%s"'
                                  % (f, v, '", "'.join(opts)))
        for f, target in meta["links"].items():
            v = doc.get(f)
            if v not in (None, "") and str(v) not in self.docs[target]:
                raise FrappeError(417, "LinkValidationError",
                                  "Could not find %s: %s" % (f, v))
        for f in meta["unique"]:
            v = doc.get(f)
            if v in (None, ""):
                continue
            for other in self.docs[doctype].values():
                if other["name"] != name and same(other.get(f), v):
                    integrity = ("IntegrityError(1062, \"Duplicate entry '%s' for key '%s'\")"
                                 % (v, f))
                    if self.unique_error == 417:
                        raise FrappeError(417, "UniqueValidationError",
                                          "%s must be unique" % f,
                                          "('%s', '%s', %s)" % (doctype, f, integrity))
                    raise FrappeError(409, "DuplicateEntryError",
                                      "%s %s already exists" % (doctype, v),
                                      "('%s', '%s', %s)" % (doctype, name, integrity))

    def insert(self, doctype, body, write):
        with self.data_lock:
            given = body.get("name")
            if given not in (None, "") and given in self.docs[doctype]:
                raise FrappeError(409, "DuplicateEntryError",
                                  "%s %s already exists" % (doctype, given),
                                  "('%s', '%s', IntegrityError(1062, \"Duplicate entry '%s' "
                                  "for key 'PRIMARY'\"))" % (doctype, given, given))
            probe = self.fresh(doctype, None, body)
            self.validate(doctype, probe, None)
            name = given or self.new_name(doctype, body)
            if name in (None, ""):
                raise FrappeError(417, "MandatoryError",
                                  "Error: Value missing for %s: name" % doctype)
            if name in self.docs[doctype]:
                raise FrappeError(409, "DuplicateEntryError",
                                  "%s %s already exists" % (doctype, name))
            doc = self.fresh(doctype, name, body)
            self.docs[doctype][name] = doc
            if write is not None:
                write["name"] = name
            return Response(200, {"data": dict(doc)})

    def update(self, doctype, name, body):
        with self.data_lock:
            cur = self.get_doc(doctype, name)
            if "modified" in body and body["modified"] != cur["modified"]:
                raise FrappeError(417, "TimestampMismatchError",
                                  "Error: Document has been modified after you have opened it"
                                  " (%s, %s). Please refresh to get the latest document."
                                  % (body["modified"], cur["modified"]))
            new = dict(cur)
            for k, v in body.items():
                if k in DOCTYPES[doctype]["fields"]:
                    new[k] = frappe_time(v) if k in DOCTYPES[doctype].get("time", []) else v
            self.validate(doctype, new, name)
            new["modified"] = self.stamp()
            self.docs[doctype][name] = new
            return Response(200, {"data": dict(new)})

    # Lists.

    @staticmethod
    def param(req, name, default=None):
        v = req.query.get(name)
        return v[-1] if v else default

    def json_param(self, req, name, default):
        raw = self.param(req, name)
        if raw is None or raw == "":
            return default
        try:
            return json.loads(raw)
        except ValueError:
            raise FrappeError(417, "DataError", "Invalid JSON in %s: %s" % (name, raw))

    @staticmethod
    def field_name(doctype, f):
        f = str(f).strip()
        m = re.fullmatch(r"`tab[^`]*`\.`?([A-Za-z0-9_]+)`?", f)
        if m:
            f = m.group(1)
        return f.strip("`")

    def check_field(self, doctype, f):
        f = self.field_name(doctype, f)
        if f not in STANDARD and f not in DOCTYPES[doctype]["fields"]:
            raise FrappeError(417, "DataError", "Field not permitted in query: %s" % f)
        return f

    def conditions(self, doctype, spec, what):
        """[(field, op, value)] from any of the three filter forms."""
        out = []
        if isinstance(spec, dict):
            for f, v in spec.items():
                if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str):
                    out.append((self.check_field(doctype, f), v[0], v[1]))
                else:
                    out.append((self.check_field(doctype, f), "=", v))
            return out
        if not isinstance(spec, list):
            raise FrappeError(417, "DataError", "Invalid %s" % what)
        for c in spec:
            if not isinstance(c, list) or len(c) not in (3, 4, 5):
                raise FrappeError(417, "DataError", "Invalid %s: %s" % (what, json.dumps(c)))
            if len(c) >= 4:
                if c[0] != doctype:
                    raise FrappeError(417, "DataError", "Invalid %s: child table %s"
                                      % (what, c[0]))
                c = c[1:4]
            out.append((self.check_field(doctype, c[0]), str(c[1]), c[2]))
        return out

    def list_docs(self, req, doctype):
        fields = self.json_param(req, "fields", ["name"])
        if isinstance(fields, str):
            fields = [fields]
        if not isinstance(fields, list):
            raise FrappeError(417, "DataError", "fields is a JSON array")
        all_fields = "*" in fields
        fields = [] if all_fields else [self.check_field(doctype, f) for f in fields]
        conds = self.conditions(doctype, self.json_param(req, "filters", []), "filters")
        or_conds = self.conditions(doctype, self.json_param(req, "or_filters", []),
                                   "or_filters")
        order = []
        for term in (self.param(req, "order_by") or "modified desc").split(","):
            if not term.strip():
                continue
            m = re.fullmatch(r"\s*((?:`[^`]*`\.)?`?\w+`?)(?:\s+(asc|desc))?\s*", term, re.I)
            if not m:
                raise FrappeError(417, "DataError", "Invalid order_by: %s" % term)
            order.append((self.check_field(doctype, m.group(1)),
                          (m.group(2) or "asc").lower() == "desc"))
        try:
            start = int(self.param(req, "limit_start", "0") or 0)
            if self.ignore_limit_start:
                start = 0
            length = int(self.param(req, "limit_page_length",
                                    self.param(req, "limit", "20")) or 0)
        except ValueError:
            raise FrappeError(417, "DataError", "limit_start and limit_page_length are integers")
        with self.data_lock:
            docs = [d for d in self.docs[doctype].values()
                    if all(compare(d.get(f), op, v) for f, op, v in conds)
                    and (not or_conds or any(compare(d.get(f), op, v) for f, op, v in or_conds))]
            for f, desc in reversed(order):
                docs.sort(key=lambda d: sort_key(d.get(f)), reverse=desc)
            docs = docs[start:start + length] if length > 0 else docs[start:]
            if all_fields:
                rows = [dict(d) for d in docs]
            else:
                rows = [{f: d.get(f) for f in fields} for d in docs]
        return Response(200, {"data": rows})


class Handler(fakehttp.Handler):
    """fakehttp's handler, except that GET /_control/docs sees its query (the core passes
    control routes the path alone)."""

    def dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        if self.command == "GET" and url.path == "/_control/docs":
            self.read_body()
            q = urllib.parse.parse_qs(url.query)
            doctype = q.get("doctype", [None])[-1]
            svc = self.server.service
            if doctype is not None and doctype not in DOCTYPES:
                self.send(Response(404, {"error": "unknown doctype %s" % doctype}))
            else:
                self.send(Response(200, {"docs": svc.all_docs(doctype)}))
            return
        super().dispatch()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api-key", default="fr-key")
    ap.add_argument("--api-secret", default="fr-secret")
    ap.add_argument("--seed-file", help="JSON {doctype: [docs]} loaded at start")
    ap.add_argument("--unique-error", type=int, choices=(409, 417), default=409,
                    help="the status of a unique legacy_ticket_id violation")
    args = ap.parse_args(argv)
    svc = Frappe(args.api_key, args.api_secret, args.seed_file, args.unique_error)
    fakehttp.serve(svc, args.host, args.port, Handler)


if __name__ == "__main__":
    main()
