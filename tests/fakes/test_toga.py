#!/usr/bin/env python3
"""Self-test of the TOGA 2 fake: starts toga.py on port 0 and checks what the attachment copy's
and the helpdesk sync's tests rely on (API-FACTS section 5).
Run: python3 tests/fakes/test_toga.py (ctest: fakes_toga_selftest)."""

import base64
import json
import os
import subprocess
import sys
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))


class TogaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "toga.py"), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        cls.base = "http://127.0.0.1:%s" % cls.proc.stdout.readline().strip()

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(10)
        cls.proc.stdout.close()

    def setUp(self):
        self.token = None
        self.ctl("wipe", {})
        self.ctl("mode", {"note_files_key": "ticketNoteFiles"})
        self.token = self.login()["accessToken"]

    def raw(self, method, path, body=None, token=None, txn="fresh"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if txn == "fresh":
            txn = str(uuid.uuid4())
        if txn:
            req.add_header("X-Transaction-Id", txn)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            with e:
                return e.code, json.loads(e.read() or b"null")

    def api(self, method, path, body=None, **kw):
        token = kw.pop("token") if "token" in kw else self.token
        return self.raw(method, "/v2" + path, body, token, **kw)

    def ctl(self, what, doc):
        st, body = self.raw("POST", "/_control/" + what, doc, txn=None)
        self.assertEqual(st, 200, body)
        return body

    def login(self):
        st, env = self.api("POST", "/auth/api", {"apiKey": "toga-key",
                                                  "apiSecret": "toga-secret"}, token=None)
        self.assertEqual(st, 200, env)
        return env["data"]

    def code(self, env):
        return env["messages"][0]["code"]

    def test_envelope_and_auth(self):
        txn = str(uuid.uuid4())
        st, env = self.api("GET", "/tickets", txn=txn)
        self.assertEqual(st, 200)
        for k in ("transactionId", "timestamp", "authority", "audience", "isSuccess", "status",
                  "error", "messages", "meta", "data"):
            self.assertIn(k, env)
        self.assertEqual(env["transactionId"], txn)
        self.assertTrue(env["isSuccess"])
        st, env = self.api("GET", "/tickets", token=None)
        self.assertEqual((st, self.code(env), env["isSuccess"]), (401, "EN-2", False))
        st, env = self.api("POST", "/auth/api", {"apiKey": "x", "apiSecret": "y"}, token=None)
        self.assertEqual((st, self.code(env)), (401, "EN-1"))

    def test_transaction_id_missing_and_reused(self):
        st, env = self.api("GET", "/tickets", txn=None)
        self.assertEqual((st, self.code(env)), (400, "EV-4"))
        txn = str(uuid.uuid4())
        self.assertEqual(self.api("GET", "/tickets", txn=txn)[0], 200)
        st, env = self.api("GET", "/tickets", txn=txn)
        self.assertEqual((st, self.code(env)), (400, "EV-5"))

    def test_expiry_and_refresh(self):
        pair = self.login()
        self.ctl("mode", {"expire_tokens": True})
        st, env = self.api("GET", "/tickets", token=pair["accessToken"])
        self.assertEqual((st, self.code(env)), (401, "EN-3"))
        st, env = self.api("POST", "/auth/refresh", {"refreshToken": pair["refreshToken"]},
                           token=None)
        self.assertEqual(st, 200, env)
        self.assertEqual(self.api("GET", "/tickets", token=env["data"]["accessToken"])[0], 200)
        st, env = self.api("POST", "/auth/refresh", {"refreshToken": "nope"}, token=None)
        self.assertEqual((st, self.code(env)), (401, "EN-4"))

    def seed_note(self, nfiles):
        t = self.ctl("seed", {"collection": "tickets", "records": [{"subject": "s"}]})
        tu = t["records"][0]["uuid"]
        n = self.ctl("seed", {"collection": "ticket-notes",
                              "records": [{"ticket": tu, "isExternal": True, "text": "hi"}]})
        nu = n["records"][0]["uuid"]
        for i in range(nfiles):
            st, env = self.api("POST", "/files", {"name": "f%d.txt" % i,
                                                  "data": base64.b64encode(b"abc%d" % i)
                                                  .decode()})
            self.assertEqual(st, 200, env)
            st, env = self.api("POST", "/ticket-notes/%s/ticket-note-files" % nu,
                               {"file": {"uuid": env["data"]["files"]["uuid"]}})
            self.assertEqual(st, 200, env)
        return tu, nu

    def test_depth_and_nested_route(self):
        for n, want in ((0, (404, "EV-6")), (1, (200, None)), (2, (404, "EV-14"))):
            _, nu = self.seed_note(n)
            st, env = self.api("GET", "/ticket-notes/%s?depth=5" % nu)
            files = env["data"]["ticketNotes"]["ticketNoteFiles"]
            self.assertEqual([f["file"]["name"] for f in files],
                             ["f%d.txt" % i for i in range(n)])
            self.assertTrue(all("data" not in f["file"] for f in files))
            st, env = self.api("GET", "/ticket-notes/%s/ticket-note-files" % nu)
            self.assertEqual((st, env["messages"][0]["code"] if env["messages"] else None),
                             want)
        st, env = self.api("GET", "/ticket-notes/%s?depth=0" % nu)
        self.assertNotIn("ticketNoteFiles", env["data"]["ticketNotes"])
        st, env = self.api("GET", "/ticket-notes/%s?depth=1" % nu)
        self.assertEqual(set(env["data"]["ticketNotes"]["ticketNoteFiles"][0]["file"]),
                         {"uuid"})

    def test_misspelt_key_mode(self):
        _, nu = self.seed_note(2)
        self.ctl("mode", {"note_files_key": "ticketNotesFiles"})
        st, env = self.api("GET", "/ticket-notes/%s?depth=5" % nu)
        self.assertNotIn("ticketNoteFiles", env["data"]["ticketNotes"])
        self.assertEqual(len(env["data"]["ticketNotes"]["ticketNotesFiles"]), 2)

    def test_files_base64(self):
        st, env = self.api("POST", "/files", {"name": "a.bin",
                                              "data": base64.b64encode(b"\0\1\2").decode()})
        fu = env["data"]["files"]["uuid"]
        st, env = self.api("GET", "/files/%s?depth=1" % fu)
        self.assertEqual(base64.b64decode(env["data"]["files"]["data"]), b"\0\1\2")
        self.assertEqual(env["data"]["files"]["size"], 3)
        st, env = self.api("POST", "/files", {"name": "b", "data": "!!notb64"})
        self.assertEqual((st, self.code(env)), (400, "EV-8"))

    def test_where_and_paging(self):
        recs = [{"key": "K%d" % i, "value": str(i), "_updated": "2026-01-01 00:00:%02d" % i}
                for i in range(30)]
        self.ctl("seed", {"collection": "parameters", "records": recs})
        q = urllib.parse.quote("where[_updated > '2026-01-01 00:00:09']")
        st, env = self.api("GET", "/parameters?%s&recordsPerPage=7&page=3" % q)
        self.assertEqual(st, 200, env)
        self.assertEqual([p["key"] for p in env["data"]["parameters"]],
                         ["K%d" % i for i in range(24, 30)])
        self.assertEqual(env["meta"]["totalRecords"], 20)
        self.assertEqual(env["meta"]["totalPages"], 3)
        st, env = self.api("GET", "/parameters?where[key%20=%20'K3']")
        self.assertEqual([p["value"] for p in env["data"]["parameters"]], ["3"])
        st, env = self.api("GET", "/parameters?recordsPerPage=10001")
        self.assertEqual((st, self.code(env)), (400, "EV-7"))
        st, env = self.api("GET", "/parameters")
        self.assertEqual(len(env["data"]["parameters"]), 25)

    def test_update_and_counters(self):
        self.ctl("reset", {})
        st, env = self.api("POST", "/parameters", {"key": "A", "value": "1"})
        pu = env["data"]["parameters"]["uuid"]
        st, env = self.api("PUT", "/parameters/" + pu, {"value": "2"})
        self.assertEqual(env["data"]["parameters"]["value"], "2")
        st, log = self.raw("GET", "/_control/log", txn=None)
        self.assertEqual(log["endpoint_counts"].get("PUT /v2/parameters/{uuid}"), 1)
        self.assertEqual(log["endpoint_counts"].get("POST /v2/parameters"), 1)
        st, store = self.raw("GET", "/_control/store/parameters", txn=None)
        self.assertEqual([r["value"] for r in store["records"]], ["2"])

    def test_ticket_depth_has_notes(self):
        tu, nu = self.seed_note(1)
        st, env = self.api("GET", "/tickets/%s?depth=5" % tu)
        notes = env["data"]["tickets"]["ticketNotes"]
        self.assertEqual([n["uuid"] for n in notes], [nu])
        self.assertEqual(len(notes[0]["ticketNoteFiles"]), 1)

    def test_stall_after_create(self):
        import time
        self.ctl("mode", {"stall_after_create": {"collection": "parameters", "seconds": 0.5}})
        t0 = time.monotonic()
        st, env = self.api("POST", "/parameters", {"key": "S", "value": "1"})
        self.assertEqual(st, 200, env)
        self.assertGreaterEqual(time.monotonic() - t0, 0.5, "the answer waited")
        t0 = time.monotonic()
        self.api("POST", "/parameters", {"key": "T", "value": "1"})
        self.assertLess(time.monotonic() - t0, 0.5, "only once")


if __name__ == "__main__":
    unittest.main()
