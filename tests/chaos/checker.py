#!/usr/bin/env python3
"""The fault suite's checker: reads one run's history and reports the invariants I1-I5 of
../../shared/FAULTS.md (docs/chaos.md) with the run's figures. It knows nothing of how the
history was made, so it can be tested over hand-made histories (test_checker.py).

Usage: checker.py HISTORY.jsonl [--json]
Exit status: 0 when every invariant holds, 1 when one is broken, 2 for a bad history.

The history is JSON Lines, one event per line, each with "ev" and "t" (unix seconds, float;
every source's times are converted to the same clock: MariaDB's with UNIX_TIMESTAMP()):

  run      scenario, seed, lease_s, grace_s (lease grace), t_bound_s (lease + watchdog
           interval + max backoff: the longest an orphan may wait)
  ack      job: a job the system acknowledged (enqueue reply, webhook 2xx, cron fire,
           manual retry), or key: the idempotency key of an acked delivery that has no job id
           yet (a spooled webhook); via: how; sent (optional): when the request was sent, from which
           the latency figure counts
  checkout job, attempt, instance, instance_pid, outcome (succeeded|failed|cancelled), reason: a
           job_attempts row as MariaDB holds it (t = its dt_completed, start = dt_started)
  begin    job, attempt, pid, pgid: the test job function told the fake upstream it started
  effect   job, attempt, effect (the logical effect's name), key (its dedupe key), applied
           (false when the fake had the key already)
  end      job, attempt, pid: the function finished (whatever its outcome); an attempt with
           no end ended at the kill of its process group, or at its check-out when its
           supervisor recorded the child's death (reason "crashed...", "timeout after...",
           "worker stopped...", "cancelled")
  fault    what (kill|stop|cont|point|...), pgids (the process groups it hit, each worker
           runs in its own), detail: an injected fault; a "point" fault is a worker's
           test-only fault point killing its own process group, a "stop" with a "point" one
           freezing it
  final    job, state, attempt, max_attempts, reason, key (idempotency key), heartbeat_age_s (of the instance of a
           running row; null when none): the jobs row at the end of the run
  stop     the end of the history (after the run waited for the system to settle)

Invariants (FAULTS.md):
  I1 no loss: every acked job (or acked key's job) is final (succeeded, failed, cancelled) at the end, and every
     interrupted attempt was recovered within t_bound_s of the fault that interrupted it
  I2 no concurrent double run: a job's attempts never run at the same time (an attempt runs
     from its begin to its end, or, when it never ended, to the kill of its process group;
     stopped periods do not count), and no attempt begins after the job succeeded unless a
     manual retry was acked after the success
  I3 no stuck rows: no row is running at the end on an instance whose heartbeat is older than
     lease_s + grace_s, nor on no instance
  I4 bounded attempts: attempt <= max_attempts; every failure (final row or attempt row) has
     a non-empty reason
  I5 idempotent effects: each logical effect (job, effect) was applied under one dedupe key,
     and each idempotency key made one job
"""

import argparse
import json
import math
import sys

FINAL_STATES = ("succeeded", "failed", "cancelled")
KILLS = ("kill", "point")
# How much later than a kill of its process group the fake may stamp a begin that was sent
# before it (the fake stamps a request when it reads it; a loaded machine delays that).
KILL_STAMP_SLACK_S = 5.0


class BadHistory(Exception):
    pass


def load(path):
    events = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                e = json.loads(line)
            except ValueError as exc:
                raise BadHistory(f"{path}:{n}: not JSON: {exc}") from None
            if not isinstance(e, dict) or "ev" not in e or not isinstance(e.get("t"), (int, float)):
                raise BadHistory(f"{path}:{n}: an event needs \"ev\" and a numeric \"t\"")
            events.append(e)
    return events


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, math.ceil(p / 100.0 * len(v)) - 1))  # nearest rank
    return v[k]


class History:
    """The events grouped the way the rules read them."""

    def __init__(self, events):
        self.events = sorted(events, key=lambda e: e["t"])
        runs = [e for e in self.events if e["ev"] == "run"]
        if not runs:
            raise BadHistory("no \"run\" event")
        self.run = runs[0]
        for k in ("lease_s", "t_bound_s"):
            if not isinstance(self.run.get(k), (int, float)):
                raise BadHistory(f"the run event needs a numeric {k}")
        stops = [e["t"] for e in self.events if e["ev"] == "stop"]
        self.t_stop = stops[-1] if stops else self.events[-1]["t"]
        self.by_kind = {}
        for e in self.events:
            self.by_kind.setdefault(e["ev"], []).append(e)

    def of(self, kind):
        return self.by_kind.get(kind, [])

    def per_job(self, kind):
        out = {}
        for e in self.of(kind):
            if "job" in e:
                out.setdefault(e["job"], []).append(e)
        return out


# Reasons a worker's supervisor records only once the child running the attempt is dead.
CHILD_DEAD = ("crashed", "timeout after", "worker stopped", "cancelled")


def attempt_end(h, begin, ends):
    """When an attempt stopped running: its end, else the kill of its process group (or of its
    process), else its check-out by the supervisor that saw its child die, else the end of the
    history."""
    mine = [e["t"] for e in ends if e.get("attempt") == begin.get("attempt")
            and e.get("pid") == begin.get("pid") and e["t"] >= begin["t"]]
    if mine:
        return min(mine), True
    for c in h.of("checkout"):
        if c.get("job") == begin.get("job") and c.get("attempt") == begin.get("attempt") and \
                (c.get("reason") or "").startswith(CHILD_DEAD) and c["t"] >= begin["t"]:
            return c["t"], False
    for f in h.of("fault"):
        # No process of a killed group sends anything after the kill, so a begin of that group
        # stamped shortly after it was sent before it, and stopped there.
        if f.get("what") in KILLS and f["t"] + KILL_STAMP_SLACK_S >= begin["t"] and \
                hits(f, begin):
            return max(f["t"], begin["t"]), False
    return h.t_stop, False


def hits(fault, begin):
    return begin.get("pgid") in (fault.get("pgids") or []) or \
        begin.get("pid") in (fault.get("pids") or [])


def stopped_periods(h, begin):
    """The [stop, cont) periods of the attempt's process group."""
    out, since = [], None
    for f in h.of("fault"):
        if not hits(f, begin):
            continue
        if f.get("what") == "stop" and since is None:
            since = f["t"]
        elif f.get("what") == "cont" and since is not None:
            out.append((since, f["t"]))
            since = None
    if since is not None:
        out.append((since, h.t_stop))
    return out


def running_intervals(h, begin, ends):
    """The attempt's running time as intervals, stopped periods cut out."""
    t_end, _ = attempt_end(h, begin, ends)
    pieces = [(begin["t"], t_end)]
    for a, b in stopped_periods(h, begin):
        nxt = []
        for s, e in pieces:
            if b <= s or a >= e:
                nxt.append((s, e))
                continue
            if s < a:
                nxt.append((s, a))
            if b < e:
                nxt.append((b, e))
        pieces = nxt
    return pieces


def overlaps(xs, ys):
    return any(a < d and c < b for a, b in xs for c, d in ys)


def check_i1(h, out):
    finals = {e["job"]: e for e in h.of("final")}
    by_key = {}
    for f in h.of("final"):
        if f.get("key"):
            by_key.setdefault(f["key"], []).append(f)
    for a in h.of("ack"):
        if "job" not in a:  # acked by idempotency key (a spooled webhook has no id yet)
            rows = by_key.get(a.get("key"), [])
            if not rows:
                out.append(("I1", a.get("key"), "acked delivery has no job at the end"))
            for f in rows:
                if f.get("state") not in FINAL_STATES:
                    out.append(("I1", f["job"], f"acked job is {f.get('state')} at the end"))
            continue
        f = finals.get(a["job"])
        if f is None:
            out.append(("I1", a["job"], "acked job has no row at the end"))
        elif f.get("state") not in FINAL_STATES:
            out.append(("I1", a["job"], f"acked job is {f.get('state')} at the end"))


def recoveries(h):
    """(job, attempt, seconds) for each interrupted attempt: from the fault that interrupted it
    to the next check-in of the job (or to its final check-out when none followed)."""
    begins, ends = h.per_job("begin"), h.per_job("end")
    checkouts = h.per_job("checkout")
    finals = {e["job"]: e for e in h.of("final")}
    out = []
    for job, bs in begins.items():
        for b in bs:
            t_dead, ended = attempt_end(h, b, ends.get(job, []))
            if ended and not stopped_periods(h, b):
                continue
            faults = [f["t"] for f in h.of("fault") if hits(f, b) and b["t"] <= f["t"]]
            t_fault = min(faults) if faults else t_dead
            later = [c["start"] for c in checkouts.get(job, [])
                     if c.get("attempt", 0) > b.get("attempt", 0) and "start" in c]
            later += [x["t"] for x in bs if x.get("attempt", 0) > b.get("attempt", 0)]
            if later:
                out.append((job, b.get("attempt"), max(0.0, min(later) - t_fault)))
                continue
            mine = [c["t"] for c in checkouts.get(job, []) if c.get("attempt") == b.get("attempt")]
            if mine:
                out.append((job, b.get("attempt"), max(0.0, min(mine) - t_fault)))
            elif finals.get(job, {}).get("state") in FINAL_STATES:
                out.append((job, b.get("attempt"), None))
    return out + lost_checkouts(h, begins, {(j, a) for j, a, _ in out})


def lost_checkouts(h, begins, seen):
    """The attempts the scheduler recovered ("worker lost") that recoveries() did not see (their
    worker died before the function began or after it ended): from the last fault that hit
    that worker (its instance's pid) before the recovery to the job's next check-in."""
    out = []
    checkouts = h.per_job("checkout")
    for job, cs in checkouts.items():
        for c in cs:
            if c.get("reason") != "worker lost" or (job, c.get("attempt")) in seen:
                continue
            # A later fault of another worker must not shorten this one's recovery.
            pid = c.get("instance_pid")
            faults = [f["t"] for f in h.of("fault") if f["t"] <= c["t"] and f.get("pgids")
                      and (pid is None or hits(f, {"pgid": pid, "pid": pid}))]
            if not faults:
                continue
            later = [x["start"] for x in cs if x.get("attempt", 0) > c.get("attempt", 0)]
            later += [b["t"] for b in begins.get(job, []) if b.get("attempt", 0) > c.get("attempt", 0)]
            end = min(later) if later else c["t"]
            out.append((job, c.get("attempt"), max(0.0, end - max(faults))))
    return out


def check_i1_bound(h, rec, out):
    bound = h.run["t_bound_s"]
    for job, attempt, secs in rec:
        if secs is not None and secs > bound:
            out.append(("I1", job, f"attempt {attempt} recovered after {secs:.1f} s "
                        f"(bound {bound} s)"))


def check_i2(h, out):
    begins, ends = h.per_job("begin"), h.per_job("end")
    checkouts = h.per_job("checkout")
    acks = h.per_job("ack")
    n = 0
    # Every job checked out, not only those whose function told the fake it began (System/Echo
    # and System/Noop do not): a second success is a second run whatever the function.
    for job in sorted(set(begins) | set(checkouts)):
        bs = begins.get(job, [])
        iv = [(b, running_intervals(h, b, ends.get(job, []))) for b in bs]
        for i in range(len(iv)):
            for k in range(i + 1, len(iv)):
                if overlaps(iv[i][1], iv[k][1]):
                    n += 1
                    out.append(("I2", job, f"attempts {iv[i][0].get('attempt')} and "
                                f"{iv[k][0].get('attempt')} ran at the same time"))
        wins = sorted(c["t"] for c in checkouts.get(job, []) if c.get("outcome") == "succeeded")
        if len(wins) > 1:
            n += 1
            out.append(("I2", job, f"checked out as succeeded {len(wins)} times"))
        if wins:
            retried = [a["t"] for a in acks.get(job, []) if a.get("via") == "retry"]
            for b in bs:
                if b["t"] > wins[0] and not any(wins[0] < r < b["t"] for r in retried):
                    n += 1
                    out.append(("I2", job, f"attempt {b.get('attempt')} began after the job "
                                "succeeded"))
    return n


def check_i3(h, out):
    limit = h.run["lease_s"] + h.run.get("grace_s", 0)
    n = 0
    for f in h.of("final"):
        if f.get("state") != "running":
            continue
        age = f.get("heartbeat_age_s")
        if age is None or age > limit:
            n += 1
            out.append(("I3", f["job"], "running at the end on " +
                        ("no instance" if age is None else f"an instance silent for {age:.1f} s")))
    return n


def check_i4(h, out):
    for f in h.of("final"):
        if f.get("attempt", 0) > f.get("max_attempts", 0):
            out.append(("I4", f["job"], f"attempt {f.get('attempt')} > max_attempts "
                        f"{f.get('max_attempts')}"))
        if f.get("state") == "failed" and not (f.get("reason") or "").strip():
            out.append(("I4", f["job"], "failed without a reason"))
    for c in h.of("checkout"):
        if c.get("outcome") == "failed" and not (c.get("reason") or "").strip():
            out.append(("I4", c["job"], f"attempt {c.get('attempt')} failed without a reason"))


def check_i5(h, out):
    """One logical effect, one key; and one job per idempotency key (a delivery acked under
    a key that made two jobs would run its effects twice)."""
    jobs_of = {}
    for f in h.of("final"):
        if f.get("key"):
            jobs_of.setdefault(f["key"], set()).add(f["job"])
    for k, js in sorted(jobs_of.items()):
        if len(js) > 1:
            out.append(("I5", k, f"idempotency key made {len(js)} jobs: {sorted(js)}"))
    keys, replays = {}, 0
    for e in h.of("effect"):
        keys.setdefault((e["job"], e.get("effect")), set()).add(e.get("key"))
        replays += not e.get("applied", True)
    for (job, effect), ks in sorted(keys.items(), key=lambda kv: str(kv[0])):
        if len(ks) > 1:
            out.append(("I5", job, f"effect {effect} applied under {len(ks)} keys"))
    return replays


def figures(h, rec, double_runs, stuck, replays, violations):
    finals = {e["job"]: e for e in h.of("final")}
    acked = {a["job"] for a in h.of("ack") if "job" in a}
    keys = {f.get("key"): f["job"] for f in h.of("final") if f.get("key")}
    acked |= {keys[a["key"]] for a in h.of("ack") if "job" not in a and a.get("key") in keys}
    lost_keys = sum(1 for a in {a.get("key") for a in h.of("ack") if "job" not in a}
                    if a not in keys)
    lost = sum(1 for j in acked if finals.get(j, {}).get("state") not in FINAL_STATES)
    lost += lost_keys
    secs = [s for _, _, s in rec if s is not None]
    wins = [c for c in h.of("checkout") if c.get("outcome") == "succeeded"]
    acks = h.of("ack")
    first_ack = {}
    for a in acks:
        job = a["job"] if "job" in a else keys.get(a.get("key"))
        if job is not None:
            first_ack.setdefault(job, a.get("sent", a["t"]))
    lat = [c["t"] - first_ack[c["job"]] for c in wins if c["job"] in first_ack]
    span = (max(c["t"] for c in wins) - min(first_ack.values())) if wins and first_ack else 0
    r = lambda x: None if x is None else round(x, 3)  # noqa: E731
    return {
        "jobs": len(acked), "succeeded": sum(1 for f in finals.values()
                                             if f.get("state") == "succeeded"),
        "failed": sum(1 for f in finals.values() if f.get("state") == "failed"),
        "lost": lost, "double_runs": double_runs, "stuck": stuck,
        "interrupted": len(rec), "recovery_p50_s": r(percentile(secs, 50)),
        "recovery_p100_s": r(max(secs) if secs else None), "effect_replays": replays,
        "attempts": len(h.of("begin")),
        "throughput_per_s": r(len(wins) / span) if span > 0 else None,
        "latency_p99_s": r(percentile(lat, 99)),
        "violations": len(violations),
    }


def check(events):
    """Returns (violations [(invariant, job, message)], figures)."""
    h = History(events)
    out = []
    check_i1(h, out)
    rec = recoveries(h)
    check_i1_bound(h, rec, out)
    double_runs = check_i2(h, out)
    stuck = check_i3(h, out)
    check_i4(h, out)
    replays = check_i5(h, out)
    return out, figures(h, rec, double_runs, stuck, replays, out)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Checks a fault-suite history against I1-I5.")
    ap.add_argument("history")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    try:
        violations, figs = check(load(args.history))
    except (OSError, BadHistory) as exc:
        print(f"checker: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"ok": not violations, "figures": figs,
                          "violations": [{"invariant": i, "job": j, "message": m}
                                         for i, j, m in violations]}))
    else:
        for i, j, m in violations:
            print(f"{i} job {j}: {m}")
        print(("PASS " if not violations else "FAIL ") + json.dumps(figs))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
