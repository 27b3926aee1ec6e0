"""The fault suite's time scenarios (FAULTS.md 18-20): host clocks off by minutes (libfaketime),
and the DST nights over the scheduler's injectable clock. Registered into scenarios.SCENARIOS.

The fleet's clock is MariaDB's (docs/chaos.md, "Clocks"): leases, heartbeats, deadlines,
run_at, backoff and cron read NOW() / UNIX_TIMESTAMP() of the server, so a worker or a
scheduler whose own clock is off by ten minutes changes nothing a job can see."""

import signal
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fleet import LEASE_S, T_BOUND_S, RoundFailed, faketime_env, wait_until
from scenarios import all_final, scenario, set_clock, size

SKEW_S = 600  # FAULTS.md: +/-10 minutes


def skew_signs(r):
    """+1/-1 for the first skewed process, the other sign for the second: both every round."""
    first = r.rng.choice((1, -1))
    return first, -first


def lost_elsewhere(r, killed_pids):
    """Attempts ended "worker lost" or "timeout" on a worker that was never killed: premature
    rescues (a lease or deadline read off a skewed clock)."""
    pids = ",".join(str(p) for p in killed_pids) or "0"
    return int(r.sql(
        "SELECT COUNT(*) FROM job_attempts a JOIN worker_instances w ON w.id = a.instance_id "
        "WHERE (a.reason LIKE 'worker lost%' OR a.reason LIKE 'timeout%') "
        f"AND w.pid NOT IN ({pids})")[0][0])


def stamps_off(r, ids):
    """Attempt rows whose start lies outside their job's life on MariaDB's clock (created ..
    completed): a start stamped on a skewed worker's wall clock."""
    return int(r.sql(
        "SELECT COUNT(*) FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE j.id IN "
        f"({','.join(map(str, ids))}) AND (a.dt_started < j.dt_created - INTERVAL 1 SECOND "
        "OR a.dt_started > a.dt_completed)")[0][0])


# [18] One worker ahead by ten minutes, another behind. Jobs run for two leases (heartbeats
# must keep them), some fail once (the retry's backoff is run_at = NOW() + delay), more jobs
# than slots (some wait in the claim-ahead window and get their start stamped at hand-over).

@scenario("clock-skew-worker", "[18] workers' clocks +/-10 min: no premature rescue, no stall")
def clock_skew_worker(r):
    r.scheduler()
    a, b = skew_signs(r)
    w1 = r.worker("worker-1", env=faketime_env(a * SKEW_S))
    w2 = r.worker("worker-2", env=faketime_env(b * SKEW_S))
    long_ms = size(r, 2 * LEASE_S + 1, LEASE_S + 1) * 1000  # past the lease: heartbeats count
    ids = r.enqueue(size(r, 6, 3), {"work_ms": long_ms}, extra=("--timeout", "30"))
    ids += r.enqueue(size(r, 6, 3), {"work_ms": 200, "fail_attempts": 1})
    ids += r.enqueue(size(r, 12, 6), {"work_ms": 100})
    wait_until(lambda: all_final(r, ids), T_BOUND_S * 4, "the jobs to finish", step=0.3)
    r.expect(lost_elsewhere(r, []) == 0, "skew", "a job on a skewed worker was rescued or "
             "timed out before its lease or timeout passed on MariaDB's clock")
    r.expect(r.count(f"id IN ({','.join(map(str, ids))}) AND state = 'succeeded'") == len(ids),
             "skew", "a job did not succeed")
    r.expect(stamps_off(r, ids) == 0, "skew", "an attempt's start was stamped on a skewed "
             "worker's clock (outside its job's life on MariaDB's clock)")
    for w in (w1, w2):
        r.expect(w.alive(), "worker", f"{w.name} died (see {w.log})")


def cron_fires_now(r, name):
    """Sets cron job name ("* * * * *") due at the current minute on MariaDB's clock and waits
    for its fire: a scheduler reading its own clock would fire ten minutes ahead (+) or not at
    all (-). Returns the fire times seen."""
    now = r.db_now()
    minute = int(now) - int(now) % 60
    r.sql(f"UPDATE cron_jobs SET dt_next_fire = FROM_UNIXTIME({minute}) WHERE name = '{name}'")
    mine = f"cron_job_id = (SELECT id FROM cron_jobs WHERE name = '{name}')"
    try:
        wait_until(lambda: r.count(f"{mine} AND cron_fire_time >= FROM_UNIXTIME({minute})"), 15,
                   "the cron minute due on MariaDB's clock to fire")
    except RoundFailed as e:
        r.problem("cron", f"{e}: the scheduler does not fire by MariaDB's clock")
    rows = r.sql(f"SELECT UNIX_TIMESTAMP(cron_fire_time) FROM jobs WHERE {mine}")
    return [int(float(x[0])) for x in rows]


# [18] The scheduler ahead by ten minutes, then (after a kill -9) one behind. Under each, a
# worker is killed: its jobs are rescued after the lease (on MariaDB's clock: not at once, not
# ten minutes late), the other worker's long jobs are never rescued, and a cron job fires the
# minute that is due on MariaDB's clock.

@scenario("clock-skew-scheduler",
          "[18] the scheduler's clock +10 then -10 min: leases and cron on MariaDB's clock")
def clock_skew_scheduler(r):
    signs = skew_signs(r)
    r.cli("cron", "add", "skew", "* * * * *", "System/Effect", "--params", '{"work_ms": 50}',
          "--tz", "UTC")
    keeper = r.worker("worker-keeper")
    killed, ids = [], []
    sched = None
    for phase, sign in enumerate(signs):
        if sched:
            r.kill9(sched)
        sched = r.scheduler(f"scheduler-{phase + 1}", env=faketime_env(sign * SKEW_S))
        victim = r.worker(f"worker-victim-{phase + 1}")
        long_ms = size(r, 2 * LEASE_S + 1, LEASE_S + 1) * 1000
        ids += r.enqueue(size(r, 6, 3), {"work_ms": long_ms}, extra=("--timeout", "30"))
        wait_until(lambda: any(b["pgid"] == victim.pid for b in r.begun()), 30,
                   "a job to begin on the victim")
        killed.append(victim.pid)
        r.kill9(victim)
        fires = cron_fires_now(r, "skew")
        late = [f for f in fires if f > r.db_now()]
        r.expect(not late, "cron", f"cron fired minutes ahead of MariaDB's clock: {late}")
        wait_until(lambda: all_final(r, ids), T_BOUND_S * 4, "the jobs to finish", step=0.3)
    r.expect(lost_elsewhere(r, killed) == 0, "skew", "a job of the live worker was rescued or "
             "timed out before its lease or timeout passed on MariaDB's clock")
    r.expect(keeper.alive(), "worker", f"{keeper.name} died (see {keeper.log})")
    r.sql("UPDATE cron_jobs SET is_active = 0")


# [19] [20] The DST nights in America/Chicago over the injectable clock ([scheduler]
# test_clock_file): every quarter hour of the night (and of the whole day in the full size)
# passes in a fraction of a second; two schedulers run, one killed at random. The crons and
# what the written policy (common/cron.h, docs/chaos.md) makes of them:
#   spring forward (2026-03-08, 2025-03-09; 02:00 CST -> 03:00 CDT):
#     "30 2 * * *" fires once, at 03:00 CDT; "0 * * * *" 23 times that day; "*/15 * * * *"
#     every quarter hour of UTC, no gap and no repeat
#   fall back (2026-11-01, 2025-11-02; 02:00 CDT -> 01:00 CST):
#     "30 1 * * *" fires once, at 01:30 CDT (the first); "0 * * * *" 24 times that day (the
#     repeated 01:00 CST hour fires nothing); "*/15 * * * *" skips the repeated hour

DST_NIGHTS = {
    # local midnight that day (UTC), the instant of the change (UTC), spring or fall
    "2026-03-08": (1772949600, 1772956800, "spring"),
    "2025-03-09": (1741500000, 1741507200, "spring"),
    "2026-11-01": (1793509200, 1793516400, "fall"),
    "2025-11-02": (1762059600, 1762066800, "fall"),
}
DST_CRONS = {"spring": {"dst-0230": "30 2 * * *", "dst-hourly": "0 * * * *",
                        "dst-15": "*/15 * * * *"},
             "fall": {"dst-0130": "30 1 * * *", "dst-hourly": "0 * * * *",
                      "dst-15": "*/15 * * * *"}}


def cron_matches(expr, wall):
    """The minute and hour fields of expr ("30 2", "0 *", "*/15 *"; the rest "* * *") against
    a naive local datetime."""
    def field(f, v):
        if f == "*":
            return True
        if f.startswith("*/"):
            return v % int(f[2:]) == 0
        return v == int(f)
    m, h = expr.split()[:2]
    return field(m, wall.minute) and field(h, wall.hour)


def dst_expected(crons, t_from, t_to, zone="America/Chicago"):
    """{cron name: [fire instants (UTC)]} in (t_from, t_to] by the written policy (common/cron.h):
    a matching local time W fires at the first instant whose local time is >= W, once (a
    repeated local time does not fire again; skipped ones collapse into one fire)."""
    z = ZoneInfo(zone)
    wall = lambda t: datetime.fromtimestamp(t, z).replace(tzinfo=None)  # noqa: E731
    want = {name: [] for name in crons}
    seen = wall(t_from).replace(second=0)  # the latest local minute handled: fires come after
    for t in range(t_from - t_from % 60 + 60, t_to + 1, 60):
        w = wall(t)
        if w <= seen:
            continue  # a repeated local minute (fall back)
        span = int((w - seen).total_seconds() // 60)  # > 1 across a spring-forward gap
        for name, expr in crons.items():
            if any(cron_matches(expr, w - timedelta(minutes=k)) for k in range(span)):
                want[name].append(t)
        seen = w
    return want


def dst_night(r, night):
    day0, change, kind = DST_NIGHTS[night]
    # The short size covers the night (22:00 the day before to 05:00); the full one the day.
    t_from = change - 3 * 3600 if r.short else day0 - 3600
    t_to = change + 2 * 3600 if r.short else day0 + 26 * 3600
    set_clock(r, t_from)
    env = {"JOBFLEET_SCHEDULER_TEST_CLOCK_FILE": r.clock_path}
    scheds = [r.scheduler(f"scheduler-{i + 1}", env=env) for i in range(2)]
    r.worker("worker-1", concurrency=4)
    for name, expr in DST_CRONS[kind].items():
        r.cli("cron", "add", name, expr, "System/Effect", "--params", '{"work_ms": 10}',
              "--tz", "America/Chicago", env=env)
    want = dst_expected(DST_CRONS[kind], t_from, t_to)
    if not r.short:  # FAULTS.md's counts for the whole day, as the policy model gives them
        day_len = 23 * 3600 if kind == "spring" else 25 * 3600
        hourly = [x for x in want["dst-hourly"] if day0 <= x < day0 + day_len]
        if len(hourly) != (23 if kind == "spring" else 24):
            raise RoundFailed(f"the policy model gives {len(hourly)} hourly fires on {night}")
    total = sum(len(v) for v in want.values())
    t = t_from
    while t < t_to:
        t += 900
        if r.rng.random() < 0.1:  # the leader may die between any two quarter hours
            i = r.rng.randrange(2)
            r.kill9(scheds[i])
            scheds[i] = r.scheduler(f"scheduler-{i + 1}-k{t}", env=env)
        set_clock(r, t)
        due = sum(1 for v in want.values() for x in v if x <= t)
        wait_until(lambda: r.count("origin = 'cron'") >= due, 30,
                   f"the fires due at {t} ({due} so far)")
    wait_until(lambda: r.count("origin = 'cron'") >= total, 30, "every fire")
    rows = r.sql("SELECT c.name, UNIX_TIMESTAMP(j.cron_fire_time) FROM jobs j JOIN cron_jobs c "
                 "ON c.id = j.cron_job_id")
    got = {}
    for name, ft in rows:
        got.setdefault(name, []).append(int(float(ft)))
    for name, fires in want.items():
        have = sorted(got.get(name, []))
        r.expect(have == fires, "dst", f"{night} {name}: {len(have)} fires, want {len(fires)}; "
                 f"extra {sorted(set(have) - set(fires))[:4]}, missing "
                 f"{sorted(set(fires) - set(have))[:4]}")
    for s in scheds:
        if s.alive():
            s.popen.send_signal(signal.SIGTERM)


for _night, (_d0, _ch, _kind) in DST_NIGHTS.items():
    scenario(f"dst-{_kind}-{_night[:4]}",
             f"[{19 if _kind == 'spring' else 20}] DST {_kind} {_night} in America/Chicago, "
             "2 schedulers, injectable clock")(lambda r, n=_night: dst_night(r, n))
