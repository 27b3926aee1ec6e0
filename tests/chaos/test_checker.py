#!/usr/bin/env python3
"""The checker's own tests: a clean hand-made history passes, and each history that breaks one
invariant once is reported with that invariant and no other."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker  # noqa: E402

RUN = {"ev": "run", "t": 0.0, "scenario": "hand", "seed": 1, "lease_s": 3, "grace_s": 1,
       "t_bound_s": 10}


def job_ok(job, t0, attempt=1, pid=100, pgid=100, key=None):
    """One job acked at t0 that ran once from t0+1 to t0+2 and succeeded."""
    return [
        {"ev": "ack", "t": t0, "job": job, "via": "cli"},
        {"ev": "begin", "t": t0 + 1, "job": job, "attempt": attempt, "pid": pid, "pgid": pgid},
        {"ev": "effect", "t": t0 + 1.5, "job": job, "attempt": attempt, "effect": "post",
         "key": key or f"job:{job}:post", "applied": True},
        {"ev": "end", "t": t0 + 2, "job": job, "attempt": attempt, "pid": pid},
        {"ev": "checkout", "t": t0 + 2.1, "job": job, "attempt": attempt, "instance": 1,
         "start": t0 + 0.9, "outcome": "succeeded", "reason": None},
    ]


def final(job, t, state="succeeded", attempt=1, max_attempts=3, reason=None, age=None):
    return {"ev": "final", "t": t, "job": job, "state": state, "attempt": attempt,
            "max_attempts": max_attempts, "reason": reason, "heartbeat_age_s": age}


def clean():
    ev = [dict(RUN)]
    ev += job_ok(1, 1.0) + job_ok(2, 1.5, pid=101)
    # Job 3: its worker (pgid 200) is killed in the function at t=11; attempt 2 runs
    # elsewhere from t=15, after the lease recovery.
    ev += [
        {"ev": "ack", "t": 10.0, "job": 3, "via": "cli"},
        {"ev": "begin", "t": 10.5, "job": 3, "attempt": 1, "pid": 201, "pgid": 200},
        {"ev": "fault", "t": 11.0, "what": "kill", "pgids": [200]},
        {"ev": "checkout", "t": 14.5, "job": 3, "attempt": 1, "instance": 2, "start": 10.4,
         "outcome": "failed", "reason": "worker lost"},
        {"ev": "begin", "t": 15.0, "job": 3, "attempt": 2, "pid": 102, "pgid": 100},
        {"ev": "effect", "t": 15.5, "job": 3, "attempt": 2, "effect": "post", "key": "job:3:post",
         "applied": True},
        {"ev": "end", "t": 16.0, "job": 3, "attempt": 2, "pid": 102},
        {"ev": "checkout", "t": 16.1, "job": 3, "attempt": 2, "instance": 1, "start": 14.9,
         "outcome": "succeeded", "reason": None},
    ]
    # Job 4: a zombie (pgid 300) stopped from 21 to 40 while attempt 2 ran and succeeded; it
    # then finished its function and replayed the effect under the same key.
    ev += [
        {"ev": "ack", "t": 20.0, "job": 4, "via": "cli"},
        {"ev": "begin", "t": 20.5, "job": 4, "attempt": 1, "pid": 301, "pgid": 300},
        {"ev": "fault", "t": 21.0, "what": "stop", "pgids": [300]},
        {"ev": "begin", "t": 26.0, "job": 4, "attempt": 2, "pid": 103, "pgid": 100},
        {"ev": "effect", "t": 26.5, "job": 4, "attempt": 2, "effect": "post", "key": "job:4:post",
         "applied": True},
        {"ev": "end", "t": 27.0, "job": 4, "attempt": 2, "pid": 103},
        {"ev": "checkout", "t": 27.1, "job": 4, "attempt": 2, "instance": 1, "start": 25.9,
         "outcome": "succeeded", "reason": None},
        {"ev": "fault", "t": 40.0, "what": "cont", "pgids": [300]},
        {"ev": "effect", "t": 40.5, "job": 4, "attempt": 1, "effect": "post", "key": "job:4:post",
         "applied": False},
        {"ev": "end", "t": 41.0, "job": 4, "attempt": 1, "pid": 301},
    ]
    ev += [final(1, 50), final(2, 50), final(3, 50, attempt=2), final(4, 50, attempt=2),
           {"ev": "stop", "t": 50.0}]
    return ev


class CheckerTest(unittest.TestCase):
    def invariants(self, events):
        violations, figs = checker.check(events)
        return sorted({v[0] for v in violations}), figs

    def test_clean_history_passes_with_figures(self):
        inv, figs = self.invariants(clean())
        self.assertEqual(inv, [])
        self.assertEqual(figs["jobs"], 4)
        self.assertEqual(figs["lost"], 0)
        self.assertEqual(figs["double_runs"], 0)
        self.assertEqual(figs["interrupted"], 2)
        # From the fault to the next check-in (the attempt row's start).
        self.assertEqual(figs["recovery_p100_s"], 4.9)  # job 4: stop at 21, check-in at 25.9
        self.assertEqual(figs["recovery_p50_s"], 3.9)  # job 3: kill at 11, check-in at 14.9
        self.assertEqual(figs["effect_replays"], 1)

    def test_recovery_of_an_attempt_that_never_began(self):
        # Job 5 was claimed by a worker killed before its child began it (fault point
        # checkin.after): only the scheduler's "worker lost" row tells of the attempt.
        ev = clean() + [
            {"ev": "ack", "t": 42.0, "job": 5, "via": "cli"},
            {"ev": "fault", "t": 43.0, "what": "point", "point": "checkin.after", "pgids": [400]},
            {"ev": "checkout", "t": 46.5, "job": 5, "attempt": 1, "instance": 4, "start": 42.9,
             "outcome": "failed", "reason": "worker lost"},
            {"ev": "begin", "t": 48.1, "job": 5, "attempt": 2, "pid": 105, "pgid": 100},
            {"ev": "end", "t": 48.5, "job": 5, "attempt": 2, "pid": 105},
            {"ev": "checkout", "t": 48.6, "job": 5, "attempt": 2, "instance": 1, "start": 48.0,
             "outcome": "succeeded", "reason": None},
            final(5, 50, attempt=2),
        ]
        inv, figs = self.invariants(ev)
        self.assertEqual(inv, [])
        self.assertEqual(figs["interrupted"], 3)
        self.assertEqual(figs["recovery_p100_s"], 5.0)  # fault at 43, next check-in at 48

    def test_recovery_measured_from_its_own_workers_fault(self):
        # A kill of another worker (pgid 500) after the one that hit job 5's (pgid 400) must
        # not shorten job 5's recovery (before: measured from the later kill, 3.0 s).
        ev = clean() + [
            {"ev": "ack", "t": 42.0, "job": 5, "via": "cli"},
            {"ev": "fault", "t": 43.0, "what": "point", "point": "checkin.after", "pgids": [400]},
            {"ev": "fault", "t": 45.0, "what": "kill", "pgids": [500]},
            {"ev": "checkout", "t": 46.5, "job": 5, "attempt": 1, "instance": 4,
             "instance_pid": 400, "start": 42.9, "outcome": "failed", "reason": "worker lost"},
            {"ev": "begin", "t": 48.1, "job": 5, "attempt": 2, "pid": 105, "pgid": 100},
            {"ev": "end", "t": 48.5, "job": 5, "attempt": 2, "pid": 105},
            {"ev": "checkout", "t": 48.6, "job": 5, "attempt": 2, "instance": 1, "start": 48.0,
             "outcome": "succeeded", "reason": None},
            final(5, 50, attempt=2),
        ]
        inv, figs = self.invariants(ev)
        self.assertEqual(inv, [])
        self.assertEqual(figs["recovery_p100_s"], 5.0)

    def test_i1_acked_job_never_final(self):
        ev = [e for e in clean() if not (e["ev"] == "final" and e["job"] == 2)]
        ev.append(final(2, 50, state="queued"))
        inv, figs = self.invariants(ev)
        self.assertEqual(inv, ["I1"])
        self.assertEqual(figs["lost"], 1)

    def test_i1_acked_job_without_row(self):
        ev = clean() + [{"ev": "ack", "t": 5.0, "job": 9, "via": "webhook"}]
        self.assertEqual(self.invariants(ev)[0], ["I1"])

    def test_i1_recovery_past_the_bound(self):
        ev = clean()
        for e in ev:  # job 3's second attempt comes 30 s after the kill (bound 10)
            if e.get("job") == 3 and e.get("attempt") == 2:
                e["t"] += 30
                if "start" in e:
                    e["start"] += 30
        self.assertEqual(self.invariants(ev)[0], ["I1"])

    def test_i2_overlapping_attempts(self):
        ev = clean()
        ev = [e for e in ev if not (e["ev"] == "fault" and e["what"] == "kill")]
        # Job 3's first attempt was never killed: it still ran when attempt 2 began.
        inv, figs = self.invariants(ev)
        self.assertEqual(inv, ["I2"])
        self.assertEqual(figs["double_runs"], 1)

    def test_i2_begin_stamped_just_after_its_group_was_killed(self):
        # The fake stamps a request when it reads it: a child that sent "begin" just before
        # another child's fault point killed their group is stamped after the kill. It cannot
        # run on (its group is dead), so attempt 2 elsewhere is no double run.
        ev = clean() + [
            {"ev": "ack", "t": 10.0, "job": 5, "via": "cli"},
            {"ev": "begin", "t": 11.002, "job": 5, "attempt": 1, "pid": 202, "pgid": 200},
            {"ev": "begin", "t": 15.0, "job": 5, "attempt": 2, "pid": 104, "pgid": 100},
            {"ev": "end", "t": 16.0, "job": 5, "attempt": 2, "pid": 104},
            final(5, 50, attempt=2),
        ]
        self.assertEqual(self.invariants(ev)[0], [])

    def test_i2_begin_long_after_its_group_was_killed_still_counts(self):
        # Past the slack the kill is not taken to explain the begin (a reused process group).
        ev = clean() + [
            {"ev": "ack", "t": 10.0, "job": 5, "via": "cli"},
            {"ev": "begin", "t": 11.0 + checker.KILL_STAMP_SLACK_S + 1, "job": 5, "attempt": 1,
             "pid": 202, "pgid": 200},
            {"ev": "begin", "t": 18.0, "job": 5, "attempt": 2, "pid": 104, "pgid": 100},
            {"ev": "end", "t": 19.0, "job": 5, "attempt": 2, "pid": 104},
            final(5, 50, attempt=2),
        ]
        self.assertEqual(self.invariants(ev)[0], ["I2"])

    def test_i2_zombie_running_while_not_stopped(self):
        ev = [e for e in clean() if not (e["ev"] == "fault" and e["what"] == "stop")]
        self.assertEqual(self.invariants(ev)[0], ["I2"])

    def test_i2_run_after_success(self):
        # The zombie's late failure sent job 1 back to pending: attempt 2 after its success.
        ev = clean() + [
            {"ev": "begin", "t": 45.0, "job": 1, "attempt": 2, "pid": 104, "pgid": 100},
            {"ev": "end", "t": 45.5, "job": 1, "attempt": 2, "pid": 104},
        ]
        self.assertEqual(self.invariants(ev)[0], ["I2"])

    def test_i2_rerun_after_manual_retry_is_fine(self):
        ev = clean() + [
            {"ev": "ack", "t": 44.0, "job": 1, "via": "retry"},
            {"ev": "begin", "t": 45.0, "job": 1, "attempt": 2, "pid": 104, "pgid": 100},
            {"ev": "end", "t": 45.5, "job": 1, "attempt": 2, "pid": 104},
        ]
        self.assertEqual(self.invariants(ev)[0], [])

    def test_i2_succeeded_twice(self):
        ev = clean() + [{"ev": "checkout", "t": 30.0, "job": 2, "attempt": 2, "instance": 1,
                         "start": 29.0, "outcome": "succeeded", "reason": None}]
        self.assertEqual(self.invariants(ev)[0], ["I2"])

    def test_i2_succeeded_twice_without_begins(self):
        # System/Echo and System/Noop tell the fake nothing: their checkouts alone show the
        # second run (before, the check ran only for jobs with begin events).
        ev = clean() + [
            {"ev": "ack", "t": 30.0, "job": 7, "via": "webhook"},
            {"ev": "checkout", "t": 31.0, "job": 7, "attempt": 1, "instance": 1, "start": 30.5,
             "outcome": "succeeded", "reason": None},
            {"ev": "checkout", "t": 33.0, "job": 7, "attempt": 2, "instance": 2, "start": 32.5,
             "outcome": "succeeded", "reason": None},
            final(7, 50, attempt=2)]
        self.assertEqual(self.invariants(ev)[0], ["I2"])

    def test_i3_running_on_dead_instance(self):
        ev = [e for e in clean() if not (e["ev"] == "final" and e["job"] == 2)]
        ev += [final(2, 50, state="succeeded")]
        ev += [{"ev": "ack", "t": 5.0, "job": 7, "via": "cli"},
               final(7, 50, state="running", age=9.0)]
        inv, figs = self.invariants(ev)
        self.assertIn("I3", inv)
        self.assertEqual(figs["stuck"], 1)
        # Running is also not final: I1 reports the same row; I3 is what names the cause.
        self.assertEqual(inv, ["I1", "I3"])

    def test_i3_running_on_live_instance_is_not_stuck(self):
        ev = clean() + [final(8, 50, state="running", age=1.0)]
        self.assertEqual(self.invariants(ev)[0], [])

    def test_i4_attempts_past_max(self):
        ev = [e for e in clean() if not (e["ev"] == "final" and e["job"] == 3)]
        ev.append(final(3, 50, attempt=4, max_attempts=3))
        self.assertEqual(self.invariants(ev)[0], ["I4"])

    def test_i4_failure_without_reason(self):
        ev = [e for e in clean() if not (e["ev"] == "final" and e["job"] == 2)]
        ev.append(final(2, 50, state="failed", reason=""))
        self.assertEqual(self.invariants(ev)[0], ["I4"])

    def test_i5_effect_under_two_keys(self):
        ev = clean()
        for e in ev:  # the zombie's replay used a key of its attempt, not of the job
            if e["ev"] == "effect" and e["job"] == 4 and e["attempt"] == 1:
                e["key"], e["applied"] = "job:4:attempt:1", True
        self.assertEqual(self.invariants(ev)[0], ["I5"])

    def test_i1_acked_webhook_key_without_job(self):
        ev = clean() + [{"ev": "ack", "t": 5.0, "key": "system:key:k9", "via": "webhook"}]
        inv, figs = self.invariants(ev)
        self.assertEqual(inv, ["I1"])
        self.assertEqual(figs["lost"], 1)

    def test_acked_webhook_key_with_its_job_passes(self):
        ev = [e for e in clean() if not (e["ev"] == "final" and e["job"] == 2)]
        ev += [{"ev": "ack", "t": 5.0, "key": "system:key:k2", "via": "webhook"},
               dict(final(2, 50), key="system:key:k2")]
        self.assertEqual(self.invariants(ev)[0], [])

    def test_i5_one_key_two_jobs(self):
        ev = [e for e in clean() if not (e["ev"] == "final" and e["job"] in (1, 2))]
        ev += [{"ev": "ack", "t": 5.0, "key": "system:key:k1", "via": "webhook"},
               dict(final(1, 50), key="system:key:k1"), dict(final(2, 50), key="system:key:k1")]
        self.assertEqual(self.invariants(ev)[0], ["I5"])

    def test_cli_exit_status_and_bad_history(self):
        me = os.path.join(os.path.dirname(os.path.abspath(__file__)), "checker.py")
        with tempfile.TemporaryDirectory() as d:
            good, bad, broken = (os.path.join(d, n) for n in ("good", "bad", "broken"))
            with open(good, "w") as f:
                f.write("\n".join(json.dumps(e) for e in clean()))
            with open(bad, "w") as f:
                f.write("\n".join(json.dumps(e) for e in clean() + [
                    {"ev": "ack", "t": 5.0, "job": 9, "via": "cli"}]))
            with open(broken, "w") as f:
                f.write('{"ev": "run"}\nnot json\n')
            run = lambda p: subprocess.run([sys.executable, me, p, "--json"],  # noqa: E731
                                           capture_output=True, text=True)
            r = run(good)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(json.loads(r.stdout)["ok"])
            r = run(bad)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(json.loads(r.stdout)["violations"][0]["invariant"], "I1")
            r = run(broken)
            self.assertEqual(r.returncode, 2)
            self.assertIn("broken:1", r.stderr)


if __name__ == "__main__":
    unittest.main()
