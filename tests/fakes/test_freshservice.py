#!/usr/bin/env python3
"""Self-test of the Freshservice fake and its fixture generator: generates a fixture, starts
freshservice.py on port 0 and checks what the sync's tests rely on.
Run: python3 tests/fakes/test_freshservice.py (ctest: fakes_freshservice_selftest)."""

import base64
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import freshservice_fixture as fxgen  # noqa: E402

NOW = "2026-06-01T12:00:00Z"
N = 120


class FakeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.path = os.path.join(cls.tmp.name, "fx.json")
        fxgen.main([str(N), "--seed", "5", "--now", NOW, "--out", cls.path])
        with open(cls.path, encoding="utf-8") as f:
            cls.fx = json.load(f)
        cls.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "freshservice.py"), "--port", "0",
             "--fixture", cls.path, "--now", NOW],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        cls.base = "http://127.0.0.1:%s" % cls.proc.stdout.readline().strip()

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(10)
        cls.proc.stdout.close()
        cls.tmp.cleanup()

    def setUp(self):
        self.control("reset", {})
        self.control("rate", {"per_minute": 0})

    def call(self, path, key="fs-key", method="GET", body=None):
        """(status, headers, parsed JSON body) of a request; path may be a full URL."""
        url = path if path.startswith("http") else self.base + path
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        if key is not None:
            req.add_header("Authorization",
                           "Basic " + base64.b64encode((key + ":X").encode()).decode())
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.headers, json.loads(e.read() or b"null")

    def control(self, what, doc):
        st, _, body = self.call("/_control/" + what, None, "POST", doc)
        self.assertEqual(st, 200, body)
        return body

    def walk(self, path):
        """The items of every page from path on, following Link, and the pages' sizes."""
        items, sizes, url = [], [], path
        while url:
            st, h, body = self.call(url)
            self.assertEqual(st, 200, body)
            (key,) = body.keys()
            items += body[key]
            sizes.append(len(body[key]))
            link = h.get("Link")
            url = link[link.index("<") + 1:link.index(">")] if link else None
        return items, sizes

    def test_auth(self):
        for key in (None, "wrong"):
            st, h, body = self.call("/api/v2/tickets", key)
            self.assertEqual(st, 401)
            self.assertEqual(body["code"], "invalid_credentials")
            self.assertIn("X-RateLimit-Remaining", h)
        self.assertEqual(self.call("/api/v2/tickets")[0], 200)

    def test_paging_link_and_order(self):
        tickets, sizes = self.walk("/api/v2/tickets?updated_since=2000-01-01T00:00:00Z"
                                   "&per_page=25")
        self.assertEqual(sizes, [25, 25, 25, 25, 20])
        self.assertEqual(sorted(t["id"] for t in tickets), [t["id"] for t in self.fx["tickets"]])
        keys = [(t["updated_at"], t["id"]) for t in tickets]
        self.assertEqual(keys, sorted(keys, reverse=True))
        asc, _ = self.walk("/api/v2/tickets?updated_since=2000-01-01&order_type=asc&per_page=100")
        self.assertEqual(asc, tickets[::-1])
        for t in tickets:
            self.assertNotIn("stats", t)
            self.assertNotIn("expected", t)

    def test_per_page_default_and_clamp(self):
        st, h, body = self.call("/api/v2/tickets?updated_since=2000-01-01&per_page=500")
        self.assertEqual(len(body["tickets"]), 100)
        self.assertIn("page=2", h["Link"])
        st, h, body = self.call("/api/v2/tickets?updated_since=2000-01-01")
        self.assertEqual(len(body["tickets"]), 30)
        st, h, body = self.call("/api/v2/tickets?updated_since=2000-01-01&page=9")
        self.assertEqual((st, body["tickets"], h.get("Link")), (200, [], None))
        self.assertEqual(self.call("/api/v2/tickets?per_page=0")[0], 400)

    def test_updated_since_inclusive(self):
        # The fake's current data: another test's touches stay.
        tickets = self.call("/_control/fixture", None)[2]["tickets"]
        times = sorted(t["updated_at"] for t in tickets)
        since = times[len(times) // 2]
        got, _ = self.walk("/api/v2/tickets?per_page=100&updated_since=" + since)
        want = {t["id"] for t in tickets if t["updated_at"] >= since}
        self.assertIn(since, [t["updated_at"] for t in got])
        self.assertEqual({t["id"] for t in got}, want)

    def test_30_day_window(self):
        got, _ = self.walk("/api/v2/tickets?per_page=100")
        start = fxgen.fmt_time(fxgen.parse_time(NOW) - datetime.timedelta(days=30))
        want = {t["id"] for t in self.fx["tickets"] if t["created_at"] >= start}
        self.assertTrue(0 < len(want) < N)
        self.assertEqual({t["id"] for t in got}, want)

    def test_included_conversations_signed_as_listed(self):
        # Freshservice gives attachment URLs in both views of a ticket's conversations (before,
        # include=conversations served the added attachment without one).
        tid = self.fx["tickets"][0]["id"]
        self.control("conversation", {"ticket_id": tid, "conversation": {
            "id": 990001, "attachments": [{"id": 880001, "name": "a.pdf", "size": 3,
                                           "content_type": "application/pdf"}]}})
        st, _, listed = self.call("/api/v2/tickets/%d/conversations" % tid)
        st2, _, one = self.call("/api/v2/tickets/%d?include=conversations" % tid)
        self.assertEqual((st, st2), (200, 200))
        for convs in (listed["conversations"], one["ticket"]["conversations"]):
            att = [a for c in convs if c["id"] == 990001 for a in c["attachments"]]
            self.assertEqual(len(att), 1)
            self.assertIn("Signature=", att[0].get("attachment_url", ""))

    def test_include_stats_costs_credits(self):
        st, h, body = self.call("/api/v2/tickets?updated_since=2000-01-01&include=stats,requester")
        self.assertEqual(h["X-RateLimit-Used-CurrentRequest"], "3")
        t = body["tickets"][0]
        self.assertEqual(set(t["stats"]) >= {"closed_at", "resolved_at", "first_responded_at"},
                         True)
        self.assertIn("email", t["requester"])
        self.assertEqual(self.call("/api/v2/tickets?include=bogus")[0], 400)
        closed = next(t for t in self.fx["tickets"] if t["status"] == 5)
        st, h, body = self.call("/api/v2/tickets/%d?include=stats,conversations" % closed["id"])
        self.assertEqual(body["ticket"]["stats"]["closed_at"], closed["stats"]["closed_at"])
        self.assertIn("sla_policy_id", body["ticket"])
        self.assertLessEqual(len(body["ticket"]["conversations"]), 10)

    def test_retry_after_is_enough(self):
        # A client that waits what Retry-After says is let in: the refused call's own credit
        # was charged after the wait was worked out, so it never was (the final review: at 2 a
        # minute, calls at 0 and 30, then refused at 40, 60, 90, 100, 120...).
        sys.path.insert(0, HERE)
        import freshservice
        fs = freshservice.Freshservice(self.path, rate_per_minute=2, now=NOW)
        self.assertTrue(fs.charge(0.0, 1)[0] and fs.charge(30.0, 1)[0])
        t = 40.0
        for _ in range(3):
            ok, h = fs.charge(t, 1)
            if ok:
                break
            t += int(h["Retry-After"])
        self.assertTrue(ok, "still refused at %.0f s after waiting each Retry-After" % t)

    def test_rate_headers_and_429(self):
        self.control("rate", {"per_minute": 5})
        remaining = []
        for _ in range(5):
            st, h, _ = self.call("/api/v2/departments")
            self.assertEqual((st, h["X-RateLimit-Total"]), (200, "5"))
            remaining.append(int(h["X-RateLimit-Remaining"]))
        self.assertEqual(remaining, [4, 3, 2, 1, 0])
        st, h, _ = self.call("/api/v2/departments")
        self.assertEqual(st, 429)
        self.assertTrue(1 <= int(h["Retry-After"]) <= 60)
        # The 429 took a credit too (failed calls count).
        self.assertEqual(h["X-RateLimit-Used-CurrentRequest"], "1")
        # Failed calls count: a 401 and an injected 503 each take a credit.
        self.control("rate", {"per_minute": 2})
        self.assertEqual(self.call("/api/v2/departments", "wrong")[0], 401)
        self.control("faults", {"path": "/api/v2/departments", "status": 503})
        st, h, _ = self.call("/api/v2/departments")
        self.assertEqual((st, h["X-RateLimit-Remaining"]), (503, "0"))
        self.assertEqual(self.call("/api/v2/departments")[0], 429)

    def test_requester_agent_and_departments(self):
        agent_ids = {a["id"] for a in self.fx["agents"]}
        t = next(t for t in self.fx["tickets"] if t["requester_id"] in agent_ids)
        self.assertIn("expected", t)
        agent = next(a for a in self.fx["agents"] if a["id"] == t["requester_id"])
        self.assertEqual(t["expected"]["requester_email"], agent["email"])
        self.assertEqual(self.call("/api/v2/requesters/%d" % agent["id"])[0], 404)
        st, _, body = self.call("/api/v2/agents/%d" % agent["id"])
        self.assertEqual(body["agent"]["email"], agent["email"])
        r = self.fx["requesters"][0]
        self.assertEqual(self.call("/api/v2/requesters/%d" % r["id"])[2]["requester"]["id"],
                         r["id"])
        depts, _ = self.walk("/api/v2/departments?per_page=4")
        self.assertEqual(len(depts), len(self.fx["departments"]))
        self.assertEqual(self.call("/api/v2/departments/%d" % depts[0]["id"])[0], 200)
        self.assertEqual(self.call("/api/v2/tickets/99999999")[0], 404)

    def test_touch_and_fetched(self):
        big = next(t for t in self.fx["tickets"] if len(t["conversations"]) > 30)
        convs, sizes = self.walk("/api/v2/tickets/%d/conversations" % big["id"])
        n = len(big["conversations"])
        self.assertEqual(sizes, [30] * (n // 30) + ([n % 30] if n % 30 else []))
        self.assertEqual([c["id"] for c in convs], [c["id"] for c in big["conversations"]])
        self.call("/api/v2/tickets/%d/time_entries" % big["id"])
        ids = [self.fx["tickets"][i]["id"] for i in (3, 17, 40)]
        body = self.control("touch", {"ids": ids})
        self.assertEqual({t["updated_at"] for t in body["tickets"]}, {NOW})
        got, _ = self.walk("/api/v2/tickets?per_page=100&updated_since=" + NOW)
        self.assertEqual(sorted(t["id"] for t in got), sorted(ids))
        for i in ids:
            self.call("/api/v2/tickets/%d" % i)
        st, _, fetched = self.call("/_control/fetched", None)
        self.assertEqual(fetched["conversations"], [big["id"]])
        self.assertEqual(fetched["time_entries"], [big["id"]])
        self.assertEqual(fetched["tickets"], ids)
        self.assertEqual(sorted(fetched["listed"]), sorted(ids))
        st, _, log = self.call("/_control/log", None)
        self.assertEqual(log["endpoint_counts"]["GET /api/v2/tickets/{id}/conversations"],
                         len(sizes))
        st, _, fx = self.call("/_control/fixture", None)
        touched = [t for t in fx["tickets"] if t["id"] in ids]
        for t in touched:
            if "expected" in t:
                self.assertEqual(t["expected"]["last_updated_at"], NOW)


    def test_touch_on_list_slides_pages(self):
        # A ticket of page 1 changed as page 2 is asked for moves to the end (updated_at
        # order): the first ticket of page 2 slides onto page 1 and paging by number skips it.
        path = "/api/v2/tickets?per_page=10&order_type=asc&updated_since=2000-01-01T00:00:00Z"
        before, _ = self.walk(path)
        moved = before[0]["id"]
        self.control("touch_on_list", {"page": 2, "ids": [moved],
                                       "at": "2026-05-31T12:00:00Z"})
        got, _ = self.walk(path)
        ids = [t["id"] for t in got]
        self.assertEqual(ids.count(moved), 2)
        self.assertNotIn(before[10]["id"], ids)
        # Made once: the next walk sees every ticket once.
        again, _ = self.walk(path)
        self.assertEqual(sorted(t["id"] for t in again), sorted(t["id"] for t in before))


class GeneratorTest(unittest.TestCase):
    def test_fragments(self):
        for src, want in fxgen.FRAGMENTS:
            self.assertEqual(fxgen.html_to_text(src), want, src)
        self.assertEqual(fxgen.html_to_text("<div>a</div>b<p>c</p>"), "a\nb\nc")
        self.assertEqual(fxgen.html_to_text("a<br><br><br><br>b<br>"), "a\n\nb")

    def test_tag_cap(self):
        n = fxgen.MAX_TAGS
        self.assertEqual(fxgen.html_to_text("<b>" * (n - 1) + "<i>kept<i>gone"), "kept")
        self.assertEqual(fxgen.html_to_text("<!--<-->" * (n // 2) + "kept<gone"), "kept")
        self.assertEqual(fxgen.html_to_text("x < " * n + "tail < gone"),
                         "x < " * n + "tail")

    def test_deterministic_and_covering(self):
        now = fxgen.parse_time(NOW)
        a = json.dumps(fxgen.build(60, 9, now))
        self.assertEqual(a, json.dumps(fxgen.build(60, 9, now)))
        fx = json.loads(a)
        ts = fx["tickets"]
        self.assertTrue(any(t["status"] == 7 for t in ts))
        self.assertEqual({t.get("skip_reason") for t in ts},
                         {None, "not_closed", "unmapped_department"})
        spent = [e["time_spent"] for t in ts for e in t["time_entries"]]
        self.assertTrue(any(isinstance(s, int) for s in spent))
        self.assertTrue(any(isinstance(s, str) for s in spent))
        self.assertTrue(any(t["expected"]["total_hours_spent"] == 0.25 for t in ts
                            if "expected" in t and not t["time_entries"]))
        convs = [c for t in ts for c in t["conversations"]]
        self.assertEqual({(c["incoming"], c["private"]) for c in convs},
                         {(True, False), (False, False), (True, True), (False, True)})
        self.assertTrue(any(len(t["conversations"]) > 30 for t in ts))
        self.assertTrue(any(len(t["time_entries"]) > 30 for t in ts))
        for t in ts:
            if "expected" in t:
                name = t["expected"]["requester_name"]
                self.assertTrue(name and name == name.strip() and "  " not in name, name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
