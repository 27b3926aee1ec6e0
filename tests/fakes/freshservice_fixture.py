#!/usr/bin/env python3
"""A deterministic generator of Freshservice fixtures for the fake (freshservice.py): N tickets
with their conversations, time entries, stats, requesters, agents, departments, the companies
the store maps departments to, and, per ticket, the store row a correct sync must write.

Usage:
  freshservice_fixture.py N [--seed S] [--now ISO] [--out PATH]
Same N, --seed and --now give byte-identical output. --now (the fixture's "now"; timestamps
spread over the 13 months before it, some within its last 30 days) defaults to the current
time in whole seconds, so a fixture made by a test lines up with the fake's real clock.

The committed demo fixture for the local stack is regenerated with:
  python3 tests/fakes/freshservice_fixture.py 40 --seed 1 --now 2026-12-01T09:00:00Z \\
      --out tests/fakes/fixtures/freshservice-demo.json
and served with `freshservice.py --fixture ... --rebase` (which shifts every timestamp so the
fixture's now is the fake's now).

FIXTURE SCHEMA (JSON object)
  "fixture":  {"generator", "version": 1, "n", "seed", "now" (ISO), "support_email"}
  "companies":            [{"account_number" (string), "name"}]       -> store `companies`
  "department_companies": [{"department_id", "account_number"}]       -> store `department_companies`
                          (one department is deliberately left out: the unmapped one)
  "departments": [Freshservice department objects]
  "requesters":  [Freshservice requester objects]  (primary_email; one has last_name null)
  "agents":      [Freshservice agent objects]      (email; one is some ticket's requester)
  "tickets":     [ticket]
  ticket = the Freshservice ticket object as GET /tickets and GET /tickets/{id} return it
    (id, subject, description, description_text, status, priority, urgency, impact, source,
    type, requester_id, requested_for_id, responder_id, group_id, department_id, category,
    sub_category, item_category, due_by, fr_due_by, fr_escalated, is_escalated, spam, deleted,
    email_config_id, cc_emails, fwd_emails, reply_cc_emails, to_emails, tags, attachments,
    custom_fields, created_at, updated_at), plus keys the fake does not serve as ticket fields:
    "stats":         {"ticket_id", "closed_at", "resolved_at", "first_responded_at",
                      "status_updated_at"}  (served under include=stats)
    "conversations": [conversation objects, oldest first] (GET .../conversations)
    "time_entries":  [time entry objects] (GET .../time_entries); time_spent is "hh:mm" or an
                     integer number of seconds
    "expected":      the store row (absent when the ticket must not be stored)
    "skip_reason":   "not_closed" | "unmapped_department" (present when "expected" is absent;
                     a ticket with department_id null is unmapped too)

EXPECTED ROW ("expected")
  ticket_id, company_account_number, ticket_number ("INC-<id>" for type "Incident", "SR-<id>"
  for "Service Request"), subject, description (the HTML as given), description_text (the
  description converted by the rules below: NOT the API's description_text, which is a
  one-line flattening as Freshservice's own is), status and priority as words, requester_email,
  requester_name, created_at, last_updated_at (the ticket's updated_at), closed_at
  (stats.closed_at), total_hours_spent, conversations, notes.
  - Times are the API's strings (UTC, "YYYY-MM-DDTHH:MM:SSZ").
  - status: 2 Open, 3 Pending, 4 Resolved, 5 Closed, anything else "Unknown (<n>)";
    priority: 1 Low, 2 Medium, 3 High, 4 Urgent, anything else "Unknown (<n>)".
    Only closed tickets are stored, so stored rows say "Closed"; the unknown code (7) is on a
    ticket that is not stored.
  - requester: GET /requesters/{requester_id}; when that 404s (the id is an agent's),
    GET /agents/{id}. requester_email = primary_email (requester) or email (agent);
    requester_name = first_name and last_name joined by one space, a null/empty part left out.
  - total_hours_spent: the sum of all time entries (billable or not) in hours, rounded to
    2 decimals ("hh:mm" = hh + mm/60; an integer = seconds / 3600); 0.25 when the ticket has
    no time entries. Generated durations are multiples of 3 minutes, so sums are exact.
  - conversations: the public ones (private false), oldest first (created_at, then id):
    [{id, from_email, incoming, created_at, body_text}];
    notes: the private ones (private true, incoming true or false), oldest first:
    [{id, user_id, created_at, body_text}]. body_text is the body converted by the rules
    (again not the API's body_text).

HTML -> TEXT RULES (the C converter implements these; every expected text here follows them)
  First, the body is cut before the '<' after the first MAX_TAGS (200,000): every '<' counts,
  in a tag, an end tag, a comment or text. (It bounds the C parser's tree; a 2 MB Outlook
  thread holds ~71,000, and no fixture body comes near.)
  Parse as HTML (libxml2: htmlCtxtReadMemory with encoding "UTF-8" -- bodies are UTF-8 -- and
  HTML_PARSE_NOERROR|HTML_PARSE_NOWARNING|HTML_PARSE_NONET; attributes are not kept), then walk
  the tree in document order building lines:
   1. Character references are decoded (&amp; &eacute; &nbsp; &#8364; &#x20AC; &#128512;).
   2. The contents of <script>, <style> and <head> (so <title>) are dropped; so are comments.
   3. In text, space, tab, CR, LF, FF and U+00A0 (no-break space, e.g. from &nbsp;) all count
      as a space.
   4. Block elements: p div li tr table h1 h2 h3 h4 h5 h6 ul ol blockquote pre hr. Their start
      tag and their end tag each END THE CURRENT LINE, BUT ONLY IF IT HOLDS SOMETHING OTHER
      THAN SPACES: a block boundary is a line break, never a blank line.
      (<p>a</p><p>b</p> -> "a\nb"; <div>a</div>b -> "a\nb".)
   5. <br> always ends the current line, even an empty one: "a<br><br>b" -> "a\n\nb".
   6. Lists (ul and ol alike, no numbering or indentation): an li's first written character
      is preceded by "- ". An li that writes nothing writes no "- "; <li><p>x</p></li> reads
      "- x".
   7. A <td> or <th> that has an earlier <td>/<th> sibling in its <tr> starts with " | ";
      spaces at the start and end of a cell's text are not written (the separator's own are):
      <tr><td>a</td><td>b</td></tr> -> "a | b"; an empty middle cell gives "a |  | c".
   8. Finally each line: runs of spaces collapse to one space, then the line is trimmed.
      Runs of blank lines collapse to one blank line; leading and trailing blank lines are
      dropped; lines are joined with "\n" (no trailing newline).
  The C side is jobs/ticket_text.h (ticket_html_to_text), whose comment states the same rules
  with the input-sanitising details (invalid UTF-8, controls, CDATA) that fixtures never use.
  <pre> is not special: its spaces collapse too. Other elements (span, b, i, a, font, td, th
  themselves...) add nothing. The table FRAGMENTS below (html, expected text) is the test
  table; html_to_text() is the reference implementation (Python's html.parser). Fixture
  bodies are concatenations of fragments, each a complete block element, with no whitespace-
  only text between tags, so libxml2's and Python's parsers build the same tree.
"""

import argparse
import datetime
import html.parser
import json
import random
import re
import sys

# --- HTML -> text (reference) -------------------------------------------------------------

MAX_TAGS = 200000  # jobs/ticket_text.h: TICKET_HTML_MAX_TAGS
BLOCK = {"p", "div", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol",
         "blockquote", "pre", "hr"}
DROPPED = ("script", "style", "head")
SEP = "\ue000"  # stands for a cell separator until the line is finished
SPACES = str.maketrans({"\t": " ", "\n": " ", "\r": " ", "\f": " ", "\u00a0": " "})


class _TextBuilder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines = []
        self.cur = []
        self.skip = 0
        self.cells = []  # per open <tr>: cells seen so far
        self.li_pending = False  # an li opened and its "- " is not written yet

    def _end_line(self):
        self.lines.append("".join(self.cur))
        self.cur = []

    def _soft_break(self):
        if "".join(self.cur).strip(" "):
            self._end_line()

    def handle_starttag(self, tag, attrs):
        if tag in DROPPED:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "br":
            self._end_line()
            return
        if tag in BLOCK:
            self._soft_break()
        if tag == "tr":
            self.cells.append(0)
        elif tag == "li":
            self.li_pending = True
        elif tag in ("td", "th") and self.cells:
            if self.cells[-1] > 0:
                self.cur.append(SEP)
            self.cells[-1] += 1

    def handle_endtag(self, tag):
        if tag in DROPPED:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag == "tr" and self.cells:
            self.cells.pop()
        if tag == "li":
            self.li_pending = False
        if tag in BLOCK:
            self._soft_break()

    def handle_data(self, data):
        if self.skip:
            return
        data = data.translate(SPACES)
        if self.li_pending and data.strip(" "):
            n = len(data) - len(data.lstrip(" "))
            data = data[:n] + "- " + data[n:]
            self.li_pending = False
        self.cur.append(data)


def cap_tags(src):
    """src up to the '<' after the first MAX_TAGS."""
    at = -1
    for _ in range(MAX_TAGS + 1):
        at = src.find("<", at + 1)
        if at < 0:
            return src
    return src[:at]


def html_to_text(src):
    """The text of an HTML fragment by the rules in this file's header."""
    b = _TextBuilder()
    b.feed(cap_tags(src))
    b.close()
    lines = [re.sub(" ?%s ?" % SEP, SEP, re.sub(" +", " ", ln)).replace(SEP, " | ").strip(" ")
             for ln in b.lines + ["".join(b.cur)]]
    out = []
    for ln in lines:
        if ln == "" and (not out or out[-1] == ""):
            continue
        out.append(ln)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out)


# (html, expected text): each a complete block element. The C converter's unit test can use
# this table as is.
FRAGMENTS = [
    ("<p>Hello team,</p>", "Hello team,"),
    ("<p>Fish &amp; chips at the caf&eacute; cost &#8364;12&nbsp;&nbsp;each.</p>",
     "Fish & chips at the café cost €12 each."),
    ("<div>Line one<br>Line two<br/>Line three</div>", "Line one\nLine two\nLine three"),
    ("<div>Before the gap<br><br><br>after the gap</div>", "Before the gap\n\nafter the gap"),
    ("<p>  lots   of \t spaces\tand\t\ttabs  </p>", "lots of spaces and tabs"),
    ("<ul><li>first item</li><li>second &amp; last</li></ul>", "- first item\n- second & last"),
    ("<ol><li>step one</li><li>step two<ul><li>nested</li></ul></li></ol>",
     "- step one\n- step two\n- nested"),
    ("<table><tr><th>Name</th><th>Qty</th></tr><tr><td>Widget</td><td>3</td></tr>"
     "<tr><td>Gadget &lt;big&gt;</td><td>&nbsp;</td></tr></table>",
     "Name | Qty\nWidget | 3\nGadget <big> |"),
    ("<table><tr><td>outer a</td><td><table><tr><td>inner 1</td><td>inner 2</td></tr></table>"
     "</td><td>outer c</td></tr></table>",
     "outer a |\ninner 1 | inner 2\n| outer c"),
    ("<div><style>p { color: red; } td > b { margin: 0 }</style>Visible text"
     "<script>if (a < b && c) { x(); }</script> stays</div>",
     "Visible text stays"),
    ("<p>kept<!-- a hidden comment --> text</p>", "kept text"),
    ("<p>Grüße aus München, 中文支持, emoji 😀 and &#128512;</p>",
     "Grüße aus München, 中文支持, emoji 😀 and 😀"),
    ("<h2>Summary</h2><blockquote>Quoted reply text</blockquote>", "Summary\nQuoted reply text"),
    ("<pre>code   sample</pre>", "code sample"),
    ("<p><b>Bold</b> and <i>italic</i> and <a href=\"https://example.com/?a=1&amp;b=2\">a link"
     "</a>.</p>", "Bold and italic and a link."),
    ("<div><div>nested <span>div</span></div><div>second</div></div>", "nested div\nsecond"),
    ("<p>&quot;quoted&quot; &#39;single&#39; &#x20AC;5 &lt;tag&gt;</p>",
     "\"quoted\" 'single' €5 <tag>"),
    ("<p>Regards,<br>Support Team</p>", "Regards,\nSupport Team"),
    ("<table><tr><td> a </td><td>&nbsp;</td><td>c</td></tr></table>", "a |  | c"),
    ("<ul><li><p>para item</p></li><li></li><li>last</li></ul>", "- para item\n- last"),
    ("<div>above</div><hr><div>below</div>", "above\nbelow"),
]

WORDS = ("printer network vpn laptop password mailbox invoice license server backup "
         "screen keyboard access folder update outlook teams phone badge report").split()


def _sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def make_body(rng, lead, nfrag):
    """An HTML body of a lead paragraph plus nfrag fragments, and its expected text."""
    parts = [("<p>%s</p>" % lead, lead)]
    parts += rng.sample(FRAGMENTS, nfrag)
    src = "".join(h for h, _ in parts)
    text = "\n".join(t for _, t in parts)
    got = html_to_text(src)
    if got != text:  # the fragments must compose; a new fragment that does not is a bug here
        raise AssertionError("fragments do not compose: %r vs %r" % (got, text))
    return src, text


# --- words, hours, the expected row --------------------------------------------------------

STATUS_WORDS = {2: "Open", 3: "Pending", 4: "Resolved", 5: "Closed"}
PRIORITY_WORDS = {1: "Low", 2: "Medium", 3: "High", 4: "Urgent"}


def status_word(n):
    return STATUS_WORDS.get(n, "Unknown (%s)" % n)


def priority_word(n):
    return PRIORITY_WORDS.get(n, "Unknown (%s)" % n)


def time_spent_hours(v):
    if isinstance(v, int):
        return v / 3600.0
    hh, mm = v.split(":")
    return int(hh) + int(mm) / 60.0


def total_hours(entries):
    if not entries:
        return 0.25
    return round(sum(time_spent_hours(e["time_spent"]) for e in entries), 2)


def ticket_number(t):
    return ("INC-%d" if t["type"] == "Incident" else "SR-%d") % t["id"]


def expected_row(t, fx):
    """(row, None) for a ticket the sync must store, (None, reason) otherwise."""
    if t["status"] != 5:
        return None, "not_closed"
    dmap = {d["department_id"]: d["account_number"] for d in fx["department_companies"]}
    acct = dmap.get(t["department_id"])
    if acct is None:
        return None, "unmapped_department"
    people = {p["id"]: p for p in fx["requesters"]}
    agents = {a["id"]: a for a in fx["agents"]}
    p = people.get(t["requester_id"]) or agents.get(t["requester_id"]) or {}
    name = " ".join(x for x in (p.get("first_name"), p.get("last_name")) if x)
    convs = sorted(t["conversations"], key=lambda c: (c["created_at"], c["id"]))
    return {
        "ticket_id": t["id"],
        "company_account_number": acct,
        "ticket_number": ticket_number(t),
        "subject": t["subject"],
        "description": t["description"],
        "description_text": html_to_text(t["description"]),
        "status": status_word(t["status"]),
        "priority": priority_word(t["priority"]),
        "requester_email": p.get("primary_email") or p.get("email"),
        "requester_name": name,
        "created_at": t["created_at"],
        "last_updated_at": t["updated_at"],
        "closed_at": t["stats"]["closed_at"],
        "total_hours_spent": total_hours(t["time_entries"]),
        "conversations": [{"id": c["id"], "from_email": c["from_email"],
                           "incoming": c["incoming"], "created_at": c["created_at"],
                           "body_text": html_to_text(c["body"])}
                          for c in convs if not c["private"]],
        "notes": [{"id": c["id"], "user_id": c["user_id"], "created_at": c["created_at"],
                   "body_text": html_to_text(c["body"])}
                  for c in convs if c["private"]],
    }, None


def set_expected(t, fx):
    row, reason = expected_row(t, fx)
    t.pop("expected", None)
    t.pop("skip_reason", None)
    if row is None:
        t["skip_reason"] = reason
    else:
        t["expected"] = row


# --- times ---------------------------------------------------------------------------------

def parse_time(s):
    """An ISO-8601 time (Z, offset, fraction or a bare date) as an aware UTC datetime."""
    s = s.strip()
    if len(s) == 10:
        s += "T00:00:00"
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1] + "+00:00"
    d = datetime.datetime.fromisoformat(s)
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return d.astimezone(datetime.timezone.utc)


def fmt_time(d):
    return d.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the generator -------------------------------------------------------------------------

DAY = 86400
SUPPORT_EMAIL = "support@acme.freshservice.com"

FIRST = ["Anna", "Jürgen", "Chloé", "Wei", "Ola", "Marek", "Sofía", "Ravi", "Emma", "Noah",
         "Zoë", "Lukas", "Aiko", "Omar", "Ines", "Pieter"]
LAST = ["Schmidt", "Müller", "Dubois", "Zhang", "Nordmann", "Novák", "García", "Patel",
        "Smith", "Jones", "Brontë", "Weber", "Tanaka", "Haddad", "Costa", "de Vries"]


def _person(rng, uid, i, now, kind):
    first = FIRST[i % len(FIRST)]
    last = LAST[(i * 7 + 3) % len(LAST)]
    mail = "%s.%s%d@%s" % (re.sub(r"[^a-z]", "", first.lower().encode("ascii", "ignore")
                                  .decode()) or "user",
                          re.sub(r"[^a-z]", "", last.lower().encode("ascii", "ignore")
                                 .decode()) or "x", i,
                          "acme.example" if kind == "agent" else "customer.example")
    created = fmt_time(now - datetime.timedelta(days=400 + i))
    p = {"id": uid, "first_name": first, "last_name": last, "job_title": None,
         "created_at": created, "updated_at": created}
    if kind == "agent":
        p.update({"email": mail, "active": True, "occasional": False, "department_ids": [],
                  "reporting_manager_id": None, "time_zone": "Berlin", "language": "en",
                  "custom_fields": {}})
    else:
        p.update({"primary_email": mail, "secondary_emails": [], "work_phone_number": None,
                  "mobile_phone_number": None, "department_ids": [], "reporting_manager_id":
                  None, "address": None, "time_zone": "Berlin", "language": "en",
                  "location_id": None, "background_information": None, "active": True,
                  "has_logged_in": rng.random() < 0.5, "custom_fields": {}})
    return p


def _roles(rng, n):
    wanted = ["unknown_status", "unmapped_dept", "null_dept", "agent_requester",
              "many_conversations", "many_time_entries", "no_time_entries", "not_closed_2",
              "not_closed_3", "not_closed_4", "recent_closed"]
    if n >= 100:
        wanted += ["many_conversations_3pages", "recent_closed", "recent_closed"]
    idx = rng.sample(range(n), min(n, len(wanted)))
    roles = {}
    for i, r in zip(idx, wanted):
        roles[i] = r
    return roles


def build(n, seed, now):
    rng = random.Random(seed)
    now = now.replace(microsecond=0)
    companies = [{"account_number": "AC-%04d" % (1001 + i), "name": name} for i, name in
                 enumerate(["Acme Logistics GmbH", "Société Générale de Test",
                            "Nordwind & Söhne KG", "北京 Example Ltd"])]
    dept_names = ["Finance", "Human Resources", "Operations", "Engineering", "Sales",
                  "Facilities (unmapped)"]
    departments = []
    for i, name in enumerate(dept_names):
        created = fmt_time(now - datetime.timedelta(days=500 + i))
        departments.append({"id": 21000300001 + i, "name": name, "description": None,
                            "head_user_id": None, "prime_user_id": None, "domains": [],
                            "custom_fields": {}, "created_at": created, "updated_at": created})
    # Two departments share a company; the last department is not mapped.
    dept_companies = [{"department_id": departments[i]["id"],
                       "account_number": companies[[0, 1, 2, 3, 0][i]]["account_number"]}
                      for i in range(5)]
    mapped = [d["id"] for d in departments[:5]]
    unmapped = departments[5]["id"]

    agents = [_person(rng, 21000200001 + i, i + 50, now, "agent") for i in range(5)]
    requesters = [_person(rng, 21000100001 + i, i, now, "requester")
                  for i in range(max(5, n // 4))]
    requesters[1]["last_name"] = None  # requester_name must not get a trailing space
    for r in requesters:
        r["department_ids"] = [rng.choice(mapped)]

    fx = {"fixture": {"generator": "freshservice_fixture.py", "version": 1, "n": n,
                      "seed": seed, "now": fmt_time(now), "support_email": SUPPORT_EMAIL},
          "companies": companies, "department_companies": dept_companies,
          "departments": departments, "requesters": requesters, "agents": agents,
          "tickets": []}
    roles = _roles(rng, n)
    ids = {"conv": 21000500000, "te": 21000600000}

    for i in range(n):
        role = roles.get(i, "")
        fx["tickets"].append(_ticket(rng, i, role, now, fx, mapped, unmapped, ids))
    for t in fx["tickets"]:
        set_expected(t, fx)
    return fx


def _ticket(rng, i, role, now, fx, mapped, unmapped, ids):
    tid = 1001 + i
    agents, requesters = fx["agents"], fx["requesters"]
    recent = role == "recent_closed" or rng.random() < 0.12
    age = rng.randrange(3600, 29 * DAY) if recent else rng.randrange(31 * DAY, 395 * DAY)
    created = now - datetime.timedelta(seconds=age)
    status = rng.choices([5, 2, 3, 4], [75, 8, 8, 9])[0]
    status = {"unknown_status": 7, "not_closed_2": 2, "not_closed_3": 3,
              "not_closed_4": 4}.get(role, 5 if role else status)
    dept = rng.choice(mapped)
    if role == "unmapped_dept":
        dept = unmapped
    elif role == "null_dept":
        dept = None
    requester = rng.choice(requesters)
    if role == "agent_requester":
        requester = agents[2]
    req_email = requester.get("primary_email") or requester.get("email")
    responder = rng.choice(agents)
    ttype = rng.choice(["Incident", "Incident", "Service Request"])

    # The ticket's life: activity within [created, end]; closed/resolved after it.
    span = max(120, min(rng.randrange(3600, 20 * DAY), int(age * 0.6)))
    end = created + datetime.timedelta(seconds=span)
    first_resp = created + datetime.timedelta(seconds=rng.randrange(60, max(61, span // 4)))

    nconv = rng.choice([0, 1, 2, 2, 3, 3, 4, 5, 6])
    nconv = {"many_conversations": 35, "many_conversations_3pages": 65}.get(role, nconv)
    times = sorted(rng.sample(range(60, span), min(nconv, span - 60)))
    convs = []
    for k, off in enumerate(times):
        kind = rng.choices(["in", "out", "public_note", "private_note", "private_in"],
                           [30, 30, 10, 20, 5])[0]
        agent = rng.choice(agents)
        lead = "Ticket %d message %d: %s" % (tid, k + 1, _sentence(rng, rng.randrange(3, 9)))
        body, text = make_body(rng, lead, rng.randrange(0, 3))
        ids["conv"] += 1
        at = fmt_time(created + datetime.timedelta(seconds=off))
        incoming = kind in ("in", "private_in")
        convs.append({
            "id": ids["conv"], "body": body, "body_text": " ".join(text.split()),
            "incoming": incoming, "private": kind in ("private_note", "private_in"),
            "user_id": requester["id"] if incoming else agent["id"],
            "source": 0 if kind in ("in", "out") else 2,
            "support_email": SUPPORT_EMAIL if kind in ("in", "out") else None,
            "from_email": req_email if incoming else (SUPPORT_EMAIL if kind == "out"
                                                      else agent["email"]),
            "to_emails": [SUPPORT_EMAIL] if incoming else [req_email],
            "cc_emails": [], "bcc_emails": [], "ticket_id": tid, "created_at": at,
            "updated_at": at, "attachments": []})

    nte = rng.choice([0, 1, 1, 2, 2, 3, 4]) if status in (4, 5, 7) else rng.choice([0, 1])
    nte = {"many_time_entries": 33, "no_time_entries": 0}.get(role, nte)
    entries = []
    for k in range(nte):
        minutes = rng.randrange(1, 100) * 3
        spent = ("%02d:%02d" % (minutes // 60, minutes % 60)) if rng.random() < 0.6 \
            else minutes * 60
        ids["te"] += 1
        at = fmt_time(created + datetime.timedelta(seconds=rng.randrange(60, span)))
        entries.append({"id": ids["te"], "start_time": at, "timer_running": False,
                        "billable": rng.random() < 0.7, "time_spent": spent,
                        "executed_at": at, "task_id": None, "agent_id": rng.choice(agents)["id"],
                        "note": "Work on %s" % _sentence(rng, 2), "custom_fields": {},
                        "created_at": at, "updated_at": at})
    entries.sort(key=lambda e: (e["created_at"], e["id"]))

    # Resolved, closed and last updated a while after the activity, and (scaled down for a
    # recent ticket) never after the fixture's now.
    delays = [rng.randrange(0, DAY), rng.randrange(0, 2 * DAY), rng.randrange(0, DAY)]
    room = ((now - end).total_seconds() - 1) * rng.uniform(0.3, 0.95)
    if sum(delays) > room:
        delays = [int(d * room / sum(delays)) for d in delays]
    resolved = closed = None
    last = end
    if status in (4, 5):
        resolved = last = end + datetime.timedelta(seconds=delays[0])
    if status == 5:
        closed = last = resolved + datetime.timedelta(seconds=delays[1])
    updated = last + datetime.timedelta(seconds=delays[2])

    desc_lead = "%s, please help: %s" % (requester["first_name"], _sentence(rng, 6))
    desc, desc_text = make_body(rng, desc_lead, rng.randrange(1, 4))
    subject = "%s %s issue #%d" % (rng.choice(["Problem with", "Request for", "Question about",
                                               "Störung:", "Anfrage –"]),
                                   rng.choice(WORDS), tid)
    c_at = fmt_time(created)
    return {
        "id": tid, "subject": subject, "description": desc,
        "description_text": " ".join(desc_text.split()),
        "status": status, "priority": rng.choice([1, 1, 2, 2, 2, 3, 4]),
        "urgency": rng.choice([1, 2, 3]), "impact": rng.choice([1, 2, 3]),
        "source": 13 if i == 3 else rng.choice([1, 1, 2, 3, 4]), "type": ttype,
        "requester_id": requester["id"], "requested_for_id": requester["id"],
        "responder_id": responder["id"], "group_id": None, "department_id": dept,
        "category": rng.choice([None, "Hardware", "Software", "Network"]),
        "sub_category": None, "item_category": None,
        "due_by": fmt_time(created + datetime.timedelta(days=3)),
        "fr_due_by": fmt_time(created + datetime.timedelta(days=1)),
        "fr_escalated": False, "is_escalated": False, "spam": False, "deleted": False,
        "email_config_id": None, "cc_emails": [], "fwd_emails": [], "reply_cc_emails": [],
        "to_emails": None, "tags": [], "attachments": [], "custom_fields": {},
        "created_at": c_at, "updated_at": fmt_time(updated),
        "stats": {"ticket_id": tid, "closed_at": fmt_time(closed) if closed else None,
                  "resolved_at": fmt_time(resolved) if resolved else None,
                  "first_responded_at": fmt_time(first_resp) if convs else None,
                  "status_updated_at": fmt_time(last)},
        "conversations": convs,
        "time_entries": entries,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int, help="number of tickets")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--now", help="the fixture's now, ISO-8601 (default: the current time)")
    ap.add_argument("--out", help="output file (default: stdout)")
    args = ap.parse_args(argv)
    now = parse_time(args.now) if args.now else datetime.datetime.now(datetime.timezone.utc)
    fx = build(args.n, args.seed, now)
    text = json.dumps(fx, ensure_ascii=False, indent=1) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
