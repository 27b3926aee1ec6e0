#!/usr/bin/env python3
"""Self-test of the Frappe fake: starts frappe.py on port 0 (with a seed file) and checks what
the dispatch bridge's tests rely on (API-FACTS section 3's fake checklist).
Run: python3 tests/fakes/test_frappe.py (ctest: fakes_frappe_selftest)."""

import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
DJ = "/api/resource/Dispatch%20Job"
TOKEN = "token fr-key:fr-secret"

SEED = {
    "Customer": [{"customer_name": "Acme", "legacy_account_id": 501},
                 {"customer_name": "Bolt", "legacy_account_id": 502}],
    "Service Location": [{"customer": "Acme", "city": "Montréal", "latitude": 45.5,
                          "longitude": -73.6}],
}


def job(tid, **kw):
    d = {"legacy_ticket_id": tid, "ticket_id": "LEG-%s" % tid, "subject": "Ticket %s" % tid,
         "status": "open"}
    d.update(kw)
    return d


class FakeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        seed = os.path.join(cls.tmp.name, "seed.json")
        with open(seed, "w", encoding="utf-8") as f:
            json.dump(SEED, f)
        cls.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "frappe.py"), "--port", "0",
             "--seed-file", seed],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        cls.base = "http://127.0.0.1:%s" % cls.proc.stdout.readline().strip()

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(10)
        cls.proc.stdout.close()
        cls.tmp.cleanup()

    def setUp(self):
        self.control("reset", {"docs": True})
        self.control("unique_error", {"status": 409})

    def call(self, path, method="GET", body=None, auth=TOKEN, query=None, raw=None):
        """(status, parsed JSON body) of a request."""
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(
                {k: v if isinstance(v, str) else json.dumps(v) for k, v in query.items()})
        data = raw if raw is not None else (json.dumps(body).encode()
                                            if body is not None else None)
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if auth is not None:
            req.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            with e:
                return e.code, json.loads(e.read() or b"null")

    def control(self, what, doc):
        st, body = self.call("/_control/" + what, "POST", doc, auth=None)
        self.assertEqual(st, 200, body)
        return body

    def assert_error(self, st, body, status, exc_type):
        self.assertEqual(st, status, body)
        self.assertEqual(body["exc_type"], exc_type)
        self.assertIn(exc_type, body["exception"])
        self.assertIsInstance(json.loads(body["exc"]), list)
        msgs = [json.loads(m) for m in json.loads(body["_server_messages"])]
        self.assertTrue(msgs and "message" in msgs[0], body)
        return msgs[0]["message"]

    def create(self, n, start=1):
        for i in range(start, start + n):
            st, body = self.call(DJ, "POST", job(i))
            self.assertEqual(st, 200, body)

    def test_auth(self):
        for auth in (None, "token fr-key:wrong", "token other:fr-secret",
                     "Basic ZnIta2V5OmZyLXNlY3JldA=="):
            st, body = self.call(DJ, auth=auth)
            self.assert_error(st, body, 403, "PermissionError")
        st, body = self.call(DJ, "POST", job(1), auth="token fr-key:nope")
        self.assert_error(st, body, 403, "PermissionError")
        self.assertEqual(self.call(DJ)[0], 200)
        self.assertEqual(self.call("/api/resource/Customer")[1]["data"],
                         [{"name": "Bolt"}, {"name": "Acme"}])

    def test_post_get_envelope_and_404(self):
        st, body = self.call(DJ, "POST", job(7, customer="Acme", bogus="x"))
        self.assertEqual(st, 200, body)
        doc = body["data"]
        self.assertEqual(doc["name"], "DJ-00001")
        self.assertEqual(doc["legacy_ticket_id"], 7)
        self.assertEqual(doc["customer"], "Acme")
        self.assertIn("modified", doc)
        self.assertNotIn("bogus", doc)
        st, body = self.call(DJ + "/DJ-00001")
        self.assertEqual((st, body["data"]), (200, doc))
        st, body = self.call(DJ + "/DJ-09999")
        self.assert_error(st, body, 404, "DoesNotExistError")
        st, body = self.call("/api/resource/No%20Such")
        self.assert_error(st, body, 404, "DoesNotExistError")
        st, body = self.call(DJ, "POST", job(8, customer="Nobody"))
        self.assert_error(st, body, 417, "LinkValidationError")

    def test_filters_forms(self):
        self.create(5)
        self.call(DJ, "POST", job(42, customer="Acme"))
        for filters in ([["Dispatch Job", "legacy_ticket_id", "=", 42]],
                        [["legacy_ticket_id", "=", 42]],
                        [["legacy_ticket_id", "=", "42"]],
                        {"legacy_ticket_id": 42},
                        {"legacy_ticket_id": ["=", 42]}):
            st, body = self.call(DJ, query={"filters": filters,
                                            "fields": ["name", "modified"]})
            self.assertEqual(st, 200, body)
            self.assertEqual([d["name"] for d in body["data"]], ["DJ-00006"], filters)
            self.assertEqual(set(body["data"][0]), {"name", "modified"})
        st, body = self.call(DJ, query={"filters": [["legacy_ticket_id", "in", [1, 3, 99]]],
                                        "order_by": "legacy_ticket_id asc"})
        self.assertEqual([d["name"] for d in body["data"]], ["DJ-00001", "DJ-00003"])
        st, body = self.call(DJ, query={"filters": [["legacy_ticket_id", "!=", 1],
                                                    ["subject", "like", "ticket 4%"]]})
        self.assertEqual([d["name"] for d in body["data"]], ["DJ-00006", "DJ-00004"])
        st, body = self.call(DJ, query={"filters": [["customer", "is", "set"]]})
        self.assertEqual([d["name"] for d in body["data"]], ["DJ-00006"])
        st, body = self.call(DJ, query={"filters": [["nope", "=", 1]]})
        self.assertEqual(st, 417, body)
        st, body = self.call(DJ, query={"filters": "[not json"})
        self.assertEqual(st, 417, body)

    def test_fields(self):
        self.create(1)
        st, body = self.call(DJ)
        self.assertEqual(body["data"], [{"name": "DJ-00001"}])
        st, body = self.call(DJ, query={"fields": ["name", "status", "assigned_to"]})
        self.assertEqual(body["data"], [{"name": "DJ-00001", "status": "open",
                                         "assigned_to": None}])
        st, body = self.call(DJ, query={"fields": ["*"]})
        self.assertEqual(body["data"][0]["ticket_id"], "LEG-1")
        self.assertIn("legacy_ticket_id", body["data"][0])
        st, body = self.call(DJ, query={"fields": ["no_such_field"]})
        self.assertEqual(st, 417, body)

    def test_paging_and_order(self):
        self.create(45)
        st, body = self.call(DJ)
        names = [d["name"] for d in body["data"]]
        self.assertEqual(len(names), 20)  # default page size
        self.assertEqual(names[0], "DJ-00045")  # default modified desc
        seen = []
        for start in range(0, 60, 20):
            st, body = self.call(DJ, query={"limit_start": str(start),
                                            "limit_page_length": "20",
                                            "order_by": "legacy_ticket_id asc"})
            seen += [d["name"] for d in body["data"]]
        self.assertEqual(seen, ["DJ-%05d" % i for i in range(1, 46)])
        st, body = self.call(DJ, query={"limit_page_length": "0"})
        self.assertEqual(len(body["data"]), 45)
        st, body = self.call(DJ, query={"limit_page_length": "5",
                                        "order_by": "`tabDispatch Job`.modified asc"})
        self.assertEqual(body["data"][0]["name"], "DJ-00001")

    def test_unique_409_and_417(self):
        self.assertEqual(self.call(DJ, "POST", job(42))[0], 200)
        st, body = self.call(DJ, "POST", job(42))
        self.assert_error(st, body, 409, "DuplicateEntryError")
        st, body = self.call(DJ, "POST", job("42"))  # the same key as a string
        self.assert_error(st, body, 409, "DuplicateEntryError")
        self.control("unique_error", {"status": 417})
        st, body = self.call(DJ, "POST", job(42))
        msg = self.assert_error(st, body, 417, "UniqueValidationError")
        self.assertIn("legacy_ticket_id", msg)
        self.assertEqual(len(self.call("/_control/docs?doctype=Dispatch%20Job",
                                       auth=None)[1]["docs"]), 1)
        # A PUT that would duplicate the key fails too.
        self.call(DJ, "POST", job(43))
        st, body = self.call(DJ + "/DJ-00002", "PUT", {"legacy_ticket_id": 42})
        self.assert_error(st, body, 417, "UniqueValidationError")

    def test_unique_error_flag(self):
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "frappe.py"), "--port",
                                 "0", "--unique-error", "417", "--api-key", "k",
                                 "--api-secret", "s"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            base = "http://127.0.0.1:%s" % proc.stdout.readline().strip()
            codes = []
            for _ in range(2):
                req = urllib.request.Request(base + DJ, json.dumps(job(1)).encode(),
                                             method="POST",
                                             headers={"Authorization": "token k:s"})
                try:
                    with urllib.request.urlopen(req, timeout=10) as r:
                        codes.append(r.status)
                except urllib.error.HTTPError as e:
                    with e:
                        codes.append(e.code)
            self.assertEqual(codes, [200, 417])
        finally:
            proc.terminate()
            proc.wait(10)
            proc.stdout.close()

    def test_mandatory_417(self):
        for field in ("legacy_ticket_id", "ticket_id", "subject", "status"):
            doc = job(5)
            del doc[field]
            st, body = self.call(DJ, "POST", doc)
            msg = self.assert_error(st, body, 417, "MandatoryError")
            self.assertIn(field, msg)
        st, body = self.call(DJ, "POST", job(5, subject=""))
        self.assertIn("subject", self.assert_error(st, body, 417, "MandatoryError"))
        st, body = self.call(DJ, "POST", job(5, status="bogus"))
        self.assert_error(st, body, 417, "ValidationError")
        self.assertEqual(self.call("/_control/docs?doctype=Dispatch%20Job",
                                   auth=None)[1]["docs"], [])

    def test_put_delete_and_415(self):
        self.create(1)
        before = self.call(DJ + "/DJ-00001")[1]["data"]
        st, body = self.call(DJ + "/DJ-00001", "PUT", {"scheduled_date": "2026-03-09",
                                                       "start_time": "08:00"})
        self.assertEqual(st, 200, body)
        self.assertEqual(body["data"]["scheduled_date"], "2026-03-09")
        # A TIME column comes back as Frappe prints a timedelta.
        self.assertEqual(body["data"]["start_time"], "8:00:00")
        self.assertEqual(body["data"]["subject"], "Ticket 1")
        self.assertGreater(body["data"]["modified"], before["modified"])
        st, body = self.call(DJ + "/DJ-00009", "PUT", {"status": "cancelled"})
        self.assert_error(st, body, 404, "DoesNotExistError")
        st, body = self.call(DJ + "/DJ-00001", "PUT", {"subject": None})
        self.assert_error(st, body, 417, "MandatoryError")
        st, body = self.call(DJ + "/DJ-00001", "PUT", {"status": "open",
                                                       "modified": before["modified"]})
        self.assert_error(st, body, 417, "TimestampMismatchError")
        st, body = self.call(DJ + "/DJ-00001", "PUT", raw=b"status=cancelled")
        self.assert_error(st, body, 415, "UnsupportedMediaType")
        st, body = self.call(DJ, "POST", raw=b"not json")
        self.assert_error(st, body, 415, "UnsupportedMediaType")
        st, body = self.call(DJ + "/DJ-00001", "DELETE")
        self.assertEqual((st, body), (200, {"message": "ok"}))
        self.assertEqual(self.call(DJ + "/DJ-00001")[0], 404)
        self.assertEqual(self.call(DJ + "/DJ-00001", "DELETE")[0], 404)

    def test_control_writes_patch_and_log(self):
        self.assertEqual(self.call("/_control/writes", auth=None)[1], {"writes": []})
        self.call(DJ, query={"filters": [["legacy_ticket_id", "=", 1]]})
        self.assertEqual(self.call("/_control/writes", auth=None)[1], {"writes": []})
        self.create(1)
        self.call(DJ + "/DJ-00001", "PUT", {"start_time": "13:00"})
        self.call(DJ, "POST", job(1))
        w = self.call("/_control/writes", auth=None)[1]["writes"]
        self.assertEqual([(x["method"], x["doctype"], x["name"], x["status"]) for x in w],
                         [("POST", "Dispatch Job", "DJ-00001", 200),
                          ("PUT", "Dispatch Job", "DJ-00001", 200),
                          ("POST", "Dispatch Job", None, 409)])
        self.assertEqual(w[1]["body"], {"start_time": "13:00"})
        # A dispatcher assigns the job; that is not a write through the API.
        body = self.control("patch", {"doctype": "Dispatch Job", "name": "DJ-00001",
                                      "fields": {"status": "assigned",
                                                 "assigned_to": "tech@example.com"}})
        self.assertEqual(body["data"]["status"], "assigned")
        self.assertEqual(self.call(DJ + "/DJ-00001")[1]["data"]["assigned_to"],
                         "tech@example.com")
        self.assertEqual(len(self.call("/_control/writes", auth=None)[1]["writes"]), 3)
        # Seeding, and listing through control.
        names = self.control("docs", {"doctype": "Service Location",
                                      "docs": [{"customer": "Bolt", "city": "Laval"}]})["names"]
        self.assertEqual(names, ["SL-00002"])
        docs = self.call("/_control/docs?doctype=Service%20Location", auth=None)[1]["docs"]
        self.assertEqual([d["city"] for d in docs], ["Montréal", "Laval"])
        log = self.call("/_control/log", auth=None)[1]
        self.assertEqual(log["doctype_counts"]["POST Dispatch Job"], 2)
        self.assertEqual(log["doctype_counts"]["PUT Dispatch Job/{name}"], 1)
        self.assertEqual(log["doctype_counts"]["GET Dispatch Job"], 1)
        self.assertEqual(len(log["writes"]), 3)
        self.assertEqual(len(log["docs"]["Customer"]), 2)
        # Reset keeps the documents unless asked.
        self.control("reset", {})
        self.assertEqual(self.call("/_control/writes", auth=None)[1], {"writes": []})
        self.assertEqual(len(self.call("/_control/docs?doctype=Dispatch%20Job",
                                       auth=None)[1]["docs"]), 1)

    def test_faults(self):
        self.control("faults", {"path": "/api/resource/Dispatch%20Job", "method": "POST",
                                "status": 503})
        st, _ = self.call(DJ, "POST", job(1))
        self.assertEqual(st, 503)
        self.assertEqual(self.call(DJ, "POST", job(1))[0], 200)
        log = self.call("/_control/log", auth=None)[1]
        self.assertEqual(log["doctype_counts"]["POST Dispatch Job"], 2)
        self.assertEqual([x["status"] for x in log["writes"]], [200])

    def test_concurrent_posts_make_one_doc(self):
        for unique in (409, 417):
            self.control("reset", {"docs": True})
            self.control("unique_error", {"status": unique})
            results, barrier = [], threading.Barrier(16)

            def post():
                barrier.wait()
                results.append(self.call(DJ, "POST", job(77))[0])

            threads = [threading.Thread(target=post) for _ in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(sorted(results), [200] + [unique] * 15)
            st, body = self.call(DJ, query={"filters": [["legacy_ticket_id", "=", 77]]})
            self.assertEqual(len(body["data"]), 1)


if __name__ == "__main__":
    unittest.main()
