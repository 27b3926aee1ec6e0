"""The fault suite's scenarios (FAULTS.md numbers in brackets). Each is a function of a Round
(fleet.py) that starts what it needs, applies a workload and injects its fault; the driver
then waits for the fleet to settle, reads MariaDB, and runs the checker. r.short asks for the
CI size (one round, a small workload). A scenario's own pass criteria beyond I1-I5 are
r.expect(...) checks.

How to add one: write a function here, register it with @scenario(name, about), keep it
seeded (use r.rng for every random choice) and its waits bounded (wait_until)."""

import json
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from fleet import REQUEUE_AFTER_S, SLACK_S, T_BOUND_S, Resp, RoundFailed, wait_until

SCENARIOS = {}


def scenario(name, about, rounds=20):
    def reg(fn):
        SCENARIOS[name] = {"fn": fn, "about": about, "rounds": rounds}
        return fn
    return reg


def size(r, full, short):
    return short if r.short else full


def all_final(r, ids):
    return r.count(f"id IN ({','.join(map(str, ids))}) AND state IN "
                   "('succeeded','failed','cancelled')") == len(ids)


def under_fault(r, loop, n, params, timeout_s):
    """Runs loop(done) in a thread while n jobs are enqueued and until they are all final
    (or timeout_s passes); done is set when the loop must end. Returns the jobs' ids."""
    done = threading.Event()
    th = threading.Thread(target=loop, args=(done,))
    th.start()
    try:
        ids = r.enqueue(n, params)
        wait_until(lambda: all_final(r, ids), timeout_s, "the jobs to finish", step=0.2)
    finally:
        done.set()
        th.join()
    return ids


# [1] kill -9 at each step of a job's life, by the worker's test-only fault points.

def kill_at(point):
    def run(r):
        r.scheduler()
        nth = r.rng.randint(1, 2)
        w1 = r.worker("worker-1", fault=f"{point}@{nth}")
        # Enqueued in the background: the worker dies while the workload still arrives, and
        # the fleet carries on at once with a restarted worker and another one (otherwise the
        # recovery time would count the wait for the enqueues).
        with ThreadPoolExecutor(1) as ex:
            acks = ex.submit(r.enqueue, size(r, 12, 8), {"work_ms": 300})
            wait_until(lambda: not w1.alive() or acks.done() and acks.exception(), 60,
                       f"the fault point {point}@{nth} to fire")
            r.worker("worker-1b")
            r.worker("worker-2")
            acks.result()
        fired = r.fault_fired()
        r.expect(fired and fired[0].get("point") == point, "fault",
                 f"worker-1 died but its fault point {point} did not log")
    return run


for _p in ("checkin.before", "checkin.after", "function", "checkout.before", "checkout.after"):
    scenario(f"kill9-{_p.replace('.', '-')}",
             f"[1] kill -9 of a worker at its fault point {_p}")(kill_at(_p))


@scenario("kill9-random", "[1] kill -9 of a random worker at random moments, restarted each time")
def kill9_random(r):
    r.scheduler()
    workers = [r.worker("worker-1"), r.worker("worker-2")]
    ids = r.enqueue(size(r, 24, 10), {"work_ms": 400})
    for k in range(size(r, 4, 1)):
        time.sleep(r.rng.uniform(0.3, 1.5))
        i = r.rng.randrange(len(workers))
        r.kill9(workers[i])
        workers[i] = r.worker(f"worker-{i + 1}-r{k + 1}")
        if all_final(r, ids):
            break


# [2] A zombie: a worker stopped past its lease, whose jobs are rescued and re-run, then
# continued. Of its three jobs one fails late (fail_attempts 1) and two succeed late, at the
# same moment: each of the check-out's paths (the failure/retry UPDATE, the final UPDATE, the
# batched UPDATE of successes) meets a job another worker already finished, so that any of
# them without its fence would write over it (a retry would even run it again).

@scenario("zombie-sigstop", "[2] SIGSTOP a worker past its lease, re-run its jobs, SIGCONT")
def zombie(r):
    r.scheduler()
    # Enqueued before the worker starts, so that its three children begin them together.
    ids = r.enqueue(1, {"work_ms": 3000, "fail_attempts": 1})
    ids += r.enqueue(2, {"work_ms": 3000})
    w1 = r.worker("worker-1", concurrency=3)

    def all_begun_on_w1():
        # Each job's current attempt (as MariaDB has it) has begun in worker-1's children:
        # a job checked in but not yet begun is zombie-stopped-after-checkin's case.
        rows = r.sql(f"SELECT id, attempt FROM jobs WHERE id IN ({','.join(map(str, ids))}) "
                     "AND state = 'running'")
        begun = {(b["job"], b["attempt"]) for b in r.begun() if b["pgid"] == w1.pid}
        return len(rows) == len(ids) and all((int(j), int(a)) in begun for j, a in rows)
    wait_until(all_begun_on_w1, 30, "the jobs to begin on worker-1")
    r.signal(w1, signal.SIGSTOP, "stop")
    r.worker("worker-2")
    in_ids = ",".join(map(str, ids))
    wait_until(lambda: r.count(f"id IN ({in_ids}) AND state = 'succeeded'") == len(ids),
               T_BOUND_S * 3, "the zombie's jobs to succeed on worker-2")
    r.signal(w1, signal.SIGCONT, "cont")

    def zombie_ended():
        # Each attempt ends, or (usually) its worker, resumed with no heartbeat for longer than
        # most of the lease, kills it at once (its self-fence, logged as a "kill").
        ended = {e["job"] for e in r.effects() if e["ev"] == "end" and e["attempt"] == 1}
        killed = {p for f in r.fault_fired() if f.get("what") == "kill" for p in f["pids"]}
        ended |= {b["job"] for b in r.begun() if b["attempt"] == 1 and b["pid"] in killed}
        return ended >= set(ids)
    wait_until(zombie_ended, 30, "the zombie's attempts to end")
    try:
        wait_until(lambda: w1.log_text().count("outcome not recorded") >= len(ids), 15,
                   "the zombie's check-outs to be refused")
    except RoundFailed as e:
        r.problem("fence", f"{e}: its late outcomes were written (see {w1.log})")
    # A late outcome that was written anyway sends a job back to pending: the settle that
    # follows lets it run again, which the checker reports (I2: an attempt after success).


# [2] The same zombie frozen inside its check-out, past its lease, continued after another
# worker re-ran its jobs. The fault stops the worker's whole group, so children still
# reporting stay frozen with it and its self-fence kills them on resume; the outcomes the
# frozen check-out holds go on to its statements and must each meet its fence. Frozen at
# checkout.before, the check-out holds the first outcomes (a failure/retry, a success: the
# retry and final UPDATEs); frozen at checkout.batch, it holds two successes or more (the
# batched UPDATE). A check-out path without its fence rewrites a finished job (I2, or the
# retry re-runs it), and the worker then does not log the outcome as not recorded.

def zombie_in_checkout(point, n_fail, n_ok):
    def run(r):
        r.scheduler()
        ids = r.enqueue(n_fail, {"work_ms": 1500, "fail_attempts": 1}) if n_fail else []
        # Enqueued before the worker starts, so that its children begin them together and
        # their outcomes reach the check-out together.
        ids += r.enqueue(n_ok, {"work_ms": 1500})
        env = {"JOBFLEET_FAULT_POINT": f"{point}@1", "JOBFLEET_FAULT_ACTION": "stop",
               "JOBFLEET_WORKER_CONCURRENCY": str(len(ids))}
        if point == "checkout.batch":
            # Each check-out first sleeps 1 s, so the outcomes that end while the first one
            # sleeps all wait for the next: two successes or more, however the children are
            # scheduled (a loaded machine had them check out one by one).
            env["JOBFLEET_FAULT_STALL"] = "checkout.before:1000"
        w1 = r.spawn("jobfleet-worker", "worker-1", env=env)
        wait_until(lambda: r.fault_fired(), 30, f"worker-1 to freeze at {point}")
        w1.stopped = True
        r.event("fault", what="stop", pids=[w1.pid], pgids=[w1.pid], detail=point)
        in_ids = ",".join(map(str, ids))
        # What the frozen worker had not checked out: every outcome of these must be refused.
        pending = r.count(f"id IN ({in_ids}) AND state = 'running'")
        r.expect(pending >= (2 if point == "checkout.batch" else 1), "fault",
                 f"only {pending} of the jobs still running at the freeze")
        r.worker("worker-2")
        wait_until(lambda: r.count(f"id IN ({in_ids}) AND state = 'succeeded'") == len(ids),
                   T_BOUND_S * 3, "the frozen worker's jobs to succeed on worker-2")
        r.signal(w1, signal.SIGCONT, "cont")
        try:
            wait_until(lambda: w1.log_text().count("outcome not recorded") >= pending, 15,
                       "the zombie's check-outs to be refused")
        except RoundFailed as e:
            r.problem("fence", f"{e}: its late outcomes were written (see {w1.log})")
        time.sleep(1)  # the window in which a late outcome's retry would start the job again
    return run


scenario("zombie-stopped-in-checkout",
         "[2] worker frozen in its check-out past its lease, continued after the re-run")(
    zombie_in_checkout("checkout.before", 1, 3))
scenario("zombie-stopped-in-batch-checkout",
         "[2] worker frozen before its batched check-out of successes, continued after the "
         "re-run")(zombie_in_checkout("checkout.batch", 0, 6))


# [16] Duplicate delivery: every job's ID pushed again and again while it waits and runs.

@scenario("dup-delivery", "[16] the same IDs pushed 2-10x while queued and running, 3 workers")
def dup_delivery(r):
    r.scheduler()
    for i in range(3):
        r.worker(f"worker-{i + 1}")
    key = f"{r.prefix}:q:default"
    pushes = [0]

    def pusher(done):
        # Pushes acked IDs again, in random batches, until every job is final.
        redis = Resp(r.servers.redis_port)
        while not done.is_set():
            ids = list(r.acked)
            if ids:
                batch = r.rng.sample(ids, k=min(len(ids), r.rng.randint(2, 10)))
                redis.call("ZADD", key, *[x for j in batch for x in ("0", str(j))])
                pushes[0] += len(batch)
            time.sleep(0.01)
        redis.close()

    ids = under_fault(r, pusher, size(r, 20, 8), {"work_ms": 500}, T_BOUND_S * 3)
    r.event("fault", what="duplicate", pgids=[], detail=f"{pushes[0]} extra pushes")
    r.expect(pushes[0] > 2 * len(ids), "workload", f"only {pushes[0]} duplicate pushes")


# [5] [7] Redis loses everything under load: FLUSHALL, and a restart without persistence.

def redis_loss(restart):
    def run(r):
        r.scheduler()
        r.worker("worker-1")
        r.worker("worker-2")
        ids = r.enqueue(size(r, 20, 10), {"work_ms": 300})
        wait_until(lambda: len(r.begun()) >= 2, 30, "jobs to start")
        for _ in range(size(r, 2, 1)):
            if restart:
                r.event("fault", what="redis-restart", pgids=[])
                r.servers.run("stop-redis")
                time.sleep(r.rng.uniform(0.2, 1.0))
                r.servers.run("start-redis")
            else:
                r.event("fault", what="flushall", pgids=[])
                r.servers.redis("FLUSHALL")
            time.sleep(r.rng.uniform(0.5, 1.5))
        repushed_within(r, "Redis lost its data")
        # New work after the loss must flow too.
        ids += r.enqueue(size(r, 6, 3), {"work_ms": 100})
    return run


def repushed_within(r, what):
    """FAULTS [5] [7]: a job queued when its ID was lost is pushed again within one
    requeue scan. The checker bounds only the recovery of interrupted attempts, and settle()
    waits minutes: a reconcile fifteen times slower passed."""
    queued = [int(row[0]) for row in r.sql("SELECT id FROM jobs WHERE state = 'queued'")]
    if not queued:
        return
    bound = REQUEUE_AFTER_S + SLACK_S
    where = f"id IN ({','.join(map(str, queued))}) AND state = 'queued'"
    try:
        wait_until(lambda: r.count(where) == 0, bound, "the queued jobs to be pushed again")
    except RoundFailed:
        r.problem("requeue", f"{r.count(where)} of the {len(queued)} jobs queued after {what} "
                  f"were still queued {bound} s later (requeue_after_s {REQUEUE_AFTER_S})")


scenario("redis-flushall", "[7] FLUSHALL with jobs queued and running")(redis_loss(False))
scenario("redis-restart", "[5] Redis restarted without persistence under load")(redis_loss(True))


# [9] MariaDB restarted under load.

@scenario("mariadb-restart", "[9] MariaDB restarted with jobs queued and running")
def mariadb_restart(r):
    r.scheduler()
    r.worker("worker-1")
    r.worker("worker-2")
    r.enqueue(size(r, 16, 8), {"work_ms": 400})
    wait_until(lambda: len(r.begun()) >= 2, 30, "jobs to start")
    r.event("fault", what="mariadb-restart", pgids=[])
    r.servers.run("stop-mysql")
    time.sleep(r.rng.uniform(0.5, 2.0))
    r.servers.run("start-mysql")
    r.enqueue(size(r, 4, 2), {"work_ms": 100})


# [23] SIGTERM mid-job: the worker drains, or, past its drain timeout, releases its jobs.

def sigterm(drain_timeout_s, work_ms):
    def run(r):
        r.scheduler()
        env = {"JOBFLEET_WORKER_DRAIN_TIMEOUT_S": str(drain_timeout_s)}
        w1 = r.spawn("jobfleet-worker", "worker-1", env=env)
        ids = r.enqueue(size(r, 6, 4), {"work_ms": work_ms})
        wait_until(lambda: any(b["pgid"] == w1.pid for b in r.begun()), 30,
                   "a job to begin on worker-1")
        r.signal(w1, signal.SIGTERM, "term", group=False)
        try:
            rc = w1.popen.wait(timeout=drain_timeout_s + work_ms / 1000 + 20)
        except Exception:
            rc = None
        r.expect(rc == 0, "drain", f"worker-1 exited with {rc} after SIGTERM (want 0)")
        running = r.count(f"state = 'running' AND instance_id IN (SELECT id FROM "
                          f"worker_instances WHERE pid = {w1.pid})")
        r.expect(running == 0, "drain", f"{running} job(s) left running by the drained worker")
        r.worker("worker-2")
        wait_until(lambda: all_final(r, ids), T_BOUND_S * 3, "the jobs to finish")
    return run


scenario("sigterm-drain", "[23] SIGTERM mid-job: running jobs finish within the drain")(
    sigterm(10, 1500))
scenario("sigterm-drain-timeout",
         "[23] SIGTERM mid-job past the drain timeout: jobs released and retried")(
    sigterm(1, 4000))


# [1] [23] Jobs handed ahead: short jobs come due together, so that the workers claim dozens at
# once and write them into their busy children's sockets (hand_ahead_run_ms is raised so that
# System/Effect's few milliseconds count as short). One worker is killed -9 and the other sent
# SIGTERM mid-drain, both restarted: the jobs a child had not taken are withdrawn (handed back on
# the drain), none lost, none run twice.

@scenario("hand-ahead-faults", "[1][23] jobs handed ahead to busy children; kill -9 and SIGTERM "
          "mid-drain")
def hand_ahead_faults(r):
    r.scheduler()
    env = {"JOBFLEET_WORKER_HAND_AHEAD_RUN_MS": "3600000", "JOBFLEET_WORKER_HAND_AHEAD": "8"}
    w = [r.worker(f"worker-{i + 1}", concurrency=3, env=env) for i in range(2)]
    # All due at one moment, some quick and some past the 20 ms after which jobs handed ahead
    # are taken back.
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r.db_now() + 8))
    ids = r.enqueue(size(r, 120, 60), {"work_ms": 2}, parallel=8, extra=("--at", at))
    ids += r.enqueue(size(r, 40, 20), {"work_ms": 40}, parallel=8, extra=("--at", at))
    wait_until(lambda: len(r.begun()) >= 10, 30, "the jobs to come due and start")
    time.sleep(r.rng.uniform(0.0, 0.3))
    r.kill9(w[0])
    w[0] = r.worker("worker-1b", concurrency=3, env=env)
    time.sleep(r.rng.uniform(0.0, 0.3))
    r.signal(w[1], signal.SIGTERM, "term", group=False)
    try:
        rc = w[1].popen.wait(timeout=30)
    except Exception:
        rc = None
    r.expect(rc == 0, "drain", f"worker-2 exited with {rc} after SIGTERM (want 0)")
    w[1] = r.worker("worker-2b", concurrency=3, env=env)
    wait_until(lambda: all_final(r, ids), T_BOUND_S * 3, "the jobs to finish")
    ahead = sum(p.log_text().count(" handed ahead to child ") for p in r.procs
                if p.name.startswith("worker"))
    r.expect(ahead > 0, "workload", "no job was handed ahead")


# [3] [4] Three schedulers, the leader killed in a loop, a 1-minute cron over the injectable
# clock: exactly one job per cron minute.

@scenario("schedulers-kill-loop", "[3][4] 3 schedulers, kill -9 loop, 1-min cron on a test clock",
          rounds=20)
def schedulers(r):
    t0 = 1798761600 + 30  # 2027-01-01 00:00:30 UTC
    set_clock(r, t0)
    clock = {"JOBFLEET_SCHEDULER_TEST_CLOCK_FILE": r.clock_path}

    def start(name):
        # Each scheduler also dies at its fault point between a fire's insert and the cron
        # row's advance, at a random fire: the fire's transaction is rolled back with the
        # session, and the next leader must fire that minute, once.
        env = {**clock, "JOBFLEET_FAULT_POINT": f"cron.fired@{r.rng.randint(1, 4)}"}
        return r.scheduler(name, env=env)

    scheds = [start(f"scheduler-{i + 1}") for i in range(3)]
    r.worker("worker-1")
    r.cli("cron", "add", "chaos", "* * * * *", "System/Effect", "--params",
          '{"work_ms": 50}', "--tz", "UTC", env=clock)
    mine = "origin = 'cron' AND cron_job_id = (SELECT id FROM cron_jobs WHERE name = 'chaos')"
    minutes = size(r, 60, 8)
    restarts = [0]

    def restart_dead(k):
        # A scheduler that died at its fault point is restarted, as systemd would: all three
        # may die at the same minute, one leader after the other, before any fire commits.
        for i, sc in enumerate(scheds):
            if not sc.alive():
                restarts[0] += 1
                scheds[i] = start(f"scheduler-{i + 1}-r{k}-{restarts[0]}")

    delayed = []
    for k in range(1, minutes + 1):
        restart_dead(k)
        # A job due a moment from now: whichever scheduler leads when it falls due queues it.
        delayed += r.enqueue(1, {"work_ms": 50}, extra=("--in", "1s"))
        if r.rng.random() < 0.4:
            i = r.rng.randrange(3)
            r.kill9(scheds[i])
            scheds[i] = start(f"scheduler-{i + 1}-k{k}")
        set_clock(r, t0 + 60 * k)
        wait_until(lambda: restart_dead(k) or r.count(mine) >= k, 30, f"cron minute {k} to fire")
    time.sleep(1.0)  # a duplicate fire would come within a few ticks (5 ticks)
    rows = r.sql(f"SELECT UNIX_TIMESTAMP(cron_fire_time) FROM jobs WHERE {mine}")
    fires = sorted(int(float(x[0])) for x in rows)
    want = [t0 - 30 + 60 * k for k in range(1, minutes + 1)]
    r.expect(fires == want, "cron", f"cron fired {len(fires)} jobs for {minutes} minutes "
             f"(duplicates or gaps: {sorted(set(fires) ^ set(want))[:5]})")
    # FAULTS [3]: pending jobs are pushed again within one period of the kills, not left to
    # wait for a scheduler that came back much later.
    ids = ",".join(map(str, delayed))
    wait_until(lambda: r.count(f"id IN ({ids}) AND state = 'pending'") == 0, T_BOUND_S,
               "the delayed jobs to be queued")
    late = r.sql(f"SELECT id, TIMESTAMPDIFF(MICROSECOND, run_at, dt_queued) / 1e6 FROM jobs "
                 f"WHERE id IN ({ids}) AND (dt_queued IS NULL OR "
                 f"dt_queued > run_at + INTERVAL {SLACK_S} SECOND)")
    r.expect(not late, "pickup", f"{len(late)} of {len(delayed)} delayed jobs queued more than "
             f"{SLACK_S} s after they fell due: {late[:3]}")


def set_clock(r, t):
    tmp = r.clock_path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{t}\n")
    os.replace(tmp, r.clock_path)
    r.event("clock", now=t)



# [1 of DESIGN's invariants] A job's row is committed before its ID is in Redis: with the
# scheduler stalled between queueing due jobs and its commit, idle workers must not see the
# IDs early (they would pop them, find the rows not yet queued, drop them, and the jobs would
# wait for reconcile's requeue_after_s). A fleet-wide queue limit makes the workers read the
# rows (a consistent read, which does not wait for the scheduler's row locks) before their
# claim; without a limit the claim's UPDATE waits for the locks and hides an early push.

@scenario("pickup-stall", "[inv 1] scheduler stalled before its pickup commit: IDs not early")
def pickup_stall(r):
    # The scheduler sleeps 2 s before each pickup commit. While it does, every ID in Redis
    # must have a committed queued row: the driver reads Redis and then, from another session,
    # the rows (InnoDB shows it only committed states). No worker runs during the first
    # stall, so what was pushed stays to be seen. (A worker's claim would only wait on the
    # uncommitted rows' locks, which hides an early push from the jobs' timings.)
    env = {"JOBFLEET_FAULT_POINT": "pickup.commit@1", "JOBFLEET_FAULT_ACTION": "stall:2000",
           "JOBFLEET_SCHEDULER_REQUEUE_AFTER_S": "20"}
    r.cli("queue", "limit", "default", "--concurrency", "100")
    r.scheduler(env=env)
    ids = r.enqueue(size(r, 10, 4), {"work_ms": 50}, extra=("--in", "1s"))
    redis = Resp(r.servers.redis_port)
    key = f"{r.prefix}:q:default"
    early, seen, deadline = set(), set(), time.time() + 8
    try:
        while time.time() < deadline and len(seen) < len(ids):
            pushed = {int(x) for x in redis.call("ZRANGE", key, "0", "-1") or []}
            if pushed:
                rows = r.sql("SELECT id FROM jobs WHERE state = 'pending' AND id IN "
                             f"({','.join(map(str, pushed))})")
                early |= {int(x[0]) for x in rows}
                seen |= pushed
            time.sleep(0.05)
    finally:
        redis.close()
    r.expect(not early, "commit-before-push",
             f"jobs {sorted(early)} were in Redis while their rows were not committed queued")
    r.expect(len(seen) == len(ids), "workload", f"only {len(seen)} of {len(ids)} IDs pushed")
    r.worker("worker-1")
    r.worker("worker-2")
    wait_until(lambda: all_final(r, ids), 60, "the delayed jobs to finish", step=0.2)


def attempt_reasons(r, ids):
    """{(job, attempt): reason} of the attempt rows of ids."""
    rows = r.sql("SELECT job_id, attempt, IFNULL(reason, '') FROM job_attempts WHERE job_id IN "
                 f"({','.join(map(str, ids))})")
    return {(int(j), int(a)): why for j, a, why in rows}


def same_workers(r, workers):
    for w in workers:
        r.expect(w.alive(), "worker", f"{w.name} died (see {w.log})")


# [14] Job functions that crash their child: SIGSEGV, abort(), exit(3), SIGKILL (as the OOM
# killer's). Each attempt is recorded with its cause and retried; the worker lives on and the
# next jobs run.

@scenario("function-crash", "[14] SIGSEGV, abort, exit(3), SIGKILL in the function; retried")
def function_crash(r):
    r.scheduler()
    workers = [r.worker("worker-1"), r.worker("worker-2")]
    want = {"segv": "crashed: SIGSEGV", "abort": "crashed: SIGABRT",
            "exit": "crashed: exit status 3", "kill": "crashed: SIGKILL"}
    kinds = {}
    for how in want:
        for j in r.enqueue(size(r, 2, 1), {"work_ms": 100, "die": how, "die_attempts": 1}):
            kinds[j] = how
    ids = list(kinds) + r.enqueue(size(r, 6, 3), {"work_ms": 100})
    wait_until(lambda: all_final(r, ids), T_BOUND_S * 4, "the jobs to finish", step=0.2)
    reasons = attempt_reasons(r, list(kinds))
    for j, how in kinds.items():
        r.expect(reasons.get((j, 1)) == want[how], "crash", f"job {j} ({how}): attempt 1 "
                 f"recorded as {reasons.get((j, 1))!r}, want {want[how]!r}")
    r.expect(r.count(f"id IN ({','.join(map(str, ids))}) AND state = 'succeeded'") == len(ids),
             "crash", "a job did not succeed on its retry")
    same_workers(r, workers)


# [15] A poison job: crashes on every attempt. It ends failed after max_attempts with its
# reason; the other jobs run meanwhile; the fleet does not crash-loop.

@scenario("poison-job", "[15] a job that crashes every attempt, among healthy ones")
def poison(r):
    r.scheduler()
    workers = [r.worker("worker-1"), r.worker("worker-2")]
    poison_ids = r.enqueue(size(r, 3, 1), {"work_ms": 50, "die": "segv"},
                           extra=("--max-attempts", "3"))
    ids = r.enqueue(size(r, 12, 6), {"work_ms": 100})
    wait_until(lambda: all_final(r, ids + poison_ids), T_BOUND_S * 4, "the jobs to finish",
               step=0.2)
    rows = r.sql("SELECT id, state, attempt, IFNULL(failure_reason, '') FROM jobs WHERE id IN "
                 f"({','.join(map(str, poison_ids))})")
    for j, state, attempt, why in rows:
        r.expect(state == "failed" and attempt == "3" and why == "crashed: SIGSEGV", "poison",
                 f"poison job {j}: {state} after attempt {attempt} ({why!r}); want failed "
                 "after attempt 3 with crashed: SIGSEGV")
    r.expect(r.count(f"id IN ({','.join(map(str, ids))}) AND state = 'succeeded'") == len(ids),
             "poison", "a healthy job did not succeed")
    same_workers(r, workers)


# [13] A hung function: the worker's timeout stops it (SIGTERM, then SIGKILL after the
# grace), the attempt is recorded "timeout after Ns", the slot serves the next jobs, and the
# scheduler's watchdog and lease recovery never step in first.

@scenario("hung-function", "[13] a function past its timeout is stopped by its worker")
def hung(r):
    r.scheduler()
    workers = [r.worker("worker-1")]
    hung_ids = r.enqueue(size(r, 2, 1), {"work_ms": 600000},
                         extra=("--timeout", "2", "--max-attempts", "2"))
    ids = r.enqueue(size(r, 6, 3), {"work_ms": 100})
    wait_until(lambda: all_final(r, ids + hung_ids), 60, "the jobs to finish", step=0.2)
    reasons = attempt_reasons(r, hung_ids)
    for j in hung_ids:
        for a in (1, 2):
            r.expect(reasons.get((j, a)) == "timeout after 2s", "timeout",
                     f"job {j} attempt {a} recorded as {reasons.get((j, a))!r}")
    r.expect(r.count(f"id IN ({','.join(map(str, hung_ids))}) AND state = 'failed'")
             == len(hung_ids), "timeout", "a hung job is not failed after its attempts")
    same_workers(r, workers)


# [10] Connections cut mid-transaction: every connection of the fleet to this round's
# database is KILLed from another session, again and again, under load. A commit whose answer
# is lost is ambiguous and must be read back, never guessed.

@scenario("mariadb-kill-connections", "[10] KILL the fleet's MariaDB connections under load")
def kill_connections(r):
    r.scheduler()
    r.worker("worker-1")
    r.worker("worker-2")
    kills = [0]

    def killer(done):
        while not done.is_set():
            time.sleep(r.rng.uniform(0.1, 0.6))
            rows = r.servers.sql("SELECT id FROM information_schema.processlist WHERE "
                                 f"db = '{r.db_name}' AND user = 'jf'")
            for (cid,) in rows:
                if r.rng.random() < 0.5:
                    try:
                        r.servers.sql(f"KILL CONNECTION {int(cid)}")
                        kills[0] += 1
                    except RoundFailed:
                        pass  # it closed meanwhile
            r.event("fault", what="kill-connections", pgids=[], detail=f"{kills[0]} so far")

    under_fault(r, killer, size(r, 24, 10), {"work_ms": 200}, T_BOUND_S * 6)
    r.expect(kills[0] > 0, "workload", "no connection was killed")


# [11] Lock waits: another session holds the running jobs' rows locked past
# innodb_lock_wait_timeout (1 s here), so check-outs and recoveries meet error 1205 and must
# retry with no status transition lost.

@scenario("lock-wait", "[11] job rows held locked past innodb_lock_wait_timeout under load")
def lock_wait(r):
    r.servers.sql("SET GLOBAL innodb_lock_wait_timeout = 1")
    r.scheduler()
    r.worker("worker-1")
    r.worker("worker-2")

    def locker(done):
        while not done.is_set():
            rows = r.sql("SELECT id FROM jobs WHERE state IN ('running', 'queued') LIMIT 4")
            if rows:
                in_ids = ",".join(x[0] for x in rows)
                r.event("fault", what="lock", pgids=[], detail=f"rows {in_ids} for 2.5 s")
                r.sql(f"BEGIN; SELECT id FROM jobs WHERE id IN ({in_ids}) FOR UPDATE; "
                      "SELECT SLEEP(2.5); COMMIT")
            time.sleep(r.rng.uniform(0.1, 0.5))

    try:
        under_fault(r, locker, size(r, 16, 8), {"work_ms": 300}, T_BOUND_S * 6)
    finally:
        r.servers.sql("SET GLOBAL innodb_lock_wait_timeout = 50")


# [24] Upstream faults from the fake: 503s, 429 with Retry-After, connection resets and a
# response slower than the client's timeout (which the fake then applies: the client's retry
# must not apply the effect twice).

@scenario("upstream-faults", "[24] 5xx, 429 Retry-After, resets, timeouts from the upstream")
def upstream(r):
    faults = [{"path": "/effect", "status": 503, "count": 3},
              {"path": "/effect", "status": 429, "retry_after": 1, "count": 2},
              {"path": "/begin", "reset": True, "count": 2},
              {"path": "/effect", "latency_ms": 6000, "count": 1},
              {"path": "/end", "status": 500, "count": 2}]
    r.rng.shuffle(faults)
    r.fake_control("/_control/faults", {"faults": faults})
    r.event("fault", what="upstream", pgids=[], detail=json.dumps(faults))
    r.scheduler()
    r.worker("worker-1")
    r.worker("worker-2")
    ids = r.enqueue(size(r, 12, 6), {"work_ms": 100})
    wait_until(lambda: all_final(r, ids), T_BOUND_S * 6, "the jobs to finish", step=0.3)
    r.expect(r.count(f"id IN ({','.join(map(str, ids))}) AND state = 'succeeded'") == len(ids),
             "upstream", "a job did not succeed once the upstream recovered")


# [8] Redis hangs (SIGSTOP): workers and the scheduler wait without crash-looping, and all is
# drained once it answers again. (The full version hangs it 20 s, not FAULTS.md's 5 minutes:
# the clients' behaviour does not change past their timeouts.)

@scenario("redis-hang", "[8] Redis stopped (SIGSTOP) under load, then continued")
def redis_hang(r):
    r.scheduler()
    workers = [r.worker("worker-1"), r.worker("worker-2")]
    ids = r.enqueue(size(r, 16, 8), {"work_ms": 300})
    wait_until(lambda: len(r.begun()) >= 2, 30, "jobs to start")
    pid = r.servers.redis_pid()
    r.event("fault", what="stop", pgids=[], detail=f"SIGSTOP redis {pid}")
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(size(r, 20, 4))
    finally:
        os.kill(pid, signal.SIGCONT)
        r.event("fault", what="cont", pgids=[], detail=f"SIGCONT redis {pid}")
    ids += r.enqueue(size(r, 4, 2), {"work_ms": 100})
    wait_until(lambda: all_final(r, ids), T_BOUND_S * 6, "the jobs to drain", step=0.3)
    same_workers(r, workers)


# [17] Duplicate webhooks: each delivery replayed 5x within a second, concurrently, and once
# more later (2 s here, not FAULTS.md's 10 minutes: the key is never released, so the wait
# changes nothing): one job per idempotency key, every reply 2xx with that job's id.

@scenario("webhook-duplicate", "[17] each webhook delivery replayed 5x at once and again later")
def webhook_duplicate(r):
    r.scheduler()
    r.worker("worker-1")
    r.producer()
    keys = [f"dup-{r.seed}-{i}" for i in range(size(r, 10, 4))]
    replies = {k: [] for k in keys}

    def deliver(k):
        replies[k].append(r.webhook(k))

    with ThreadPoolExecutor(5) as ex:
        for k in keys:
            list(ex.map(deliver, [k] * 5))
    time.sleep(size(r, 5, 2))
    for k in keys:
        deliver(k)
    for k, rs in replies.items():
        ids = {doc.get("job_id") for st, doc, _ in rs if isinstance(doc, dict)}
        r.expect(all(200 <= st < 300 for st, _, _ in rs) and len(ids) == 1 and None not in ids,
                 "idempotency", f"key {k}: replies {[(st, doc) for st, doc, _ in rs]}")
        # As docs/api.md has it (FAULTS.md asks for the same status each time; docs/chaos.md
        # says why not): the delivery that made the job 202, every repeat 200 "existing".
        made = [st for st, doc, _ in rs if st == 202 and not doc.get("existing")]
        repeats = [st for st, doc, _ in rs if st == 200 and doc.get("existing") is True]
        r.expect(len(made) == 1 and len(repeats) == len(rs) - 1, "idempotency",
                 f"key {k}: want one 202 and {len(rs) - 1} 200 existing, got "
                 f"{[(st, doc) for st, doc, _ in rs]}")
    # (The checker's I5 counts the jobs per key.)


# [9] [22 in small] Webhooks while MariaDB restarts: deliveries are spooled (fsync, then 202)
# while it is down and replayed exactly once when it is back; no 2xx without a job.

@scenario("webhook-mariadb-down", "[9] webhook load across a MariaDB restart: spool, replay once")
def webhook_db_down(r):
    r.scheduler()
    r.worker("worker-1")
    r.worker("worker-2")
    r.producer()

    def fault():
        r.event("fault", what="mariadb-stop", pgids=[])
        r.servers.run("stop-mysql")
        time.sleep(size(r, 10, 3))
        r.servers.run("start-mysql")
        r.event("fault", what="mariadb-start", pgids=[])

    results = webhooks_across(r, "load", 3, size(r, 0.05, 0.25), fault)
    spool_checks(r, results, "while MariaDB was down", 2.0)


def webhooks_across(r, tag, lanes, pause, fault):
    """Sends webhook deliveries (keys TAG-SEED-LANE-I) from lanes threads, pause seconds apart
    in each, from a second before fault() until a second after it returned. Returns the
    deliveries' (status, body, seconds)."""
    done = threading.Event()
    results = []

    def load(lane):
        i = 0
        while not done.is_set():
            results.append(r.webhook(f"{tag}-{r.seed}-{lane}-{i}"))
            i += 1
            time.sleep(pause)

    threads = [threading.Thread(target=load, args=(k,)) for k in range(lanes)]
    for th in threads:
        th.start()
    try:
        time.sleep(1.0)
        fault()
        time.sleep(1.0)
    finally:
        done.set()
        for th in threads:
            th.join()
    return results


def spool_checks(r, results, when, budget_s):
    """Records the deliveries' figures; expects some spooled (when: while what), none refused,
    the p99 latency within budget_s."""
    spooled = sum(1 for st, doc, _ in results if isinstance(doc, dict) and doc.get("spooled"))
    refused = [st for st, _, _ in results if not 200 <= st < 300]
    lat = sorted(t for _, _, t in results)
    p99 = lat[max(0, int(len(lat) * 0.99) - 1)] if lat else 0
    r.event("figure", deliveries=len(results), spooled=spooled, refused=len(refused),
            p99_s=round(p99, 3))
    r.expect(spooled > 0, "workload", f"no delivery was spooled {when}")
    r.expect(not refused, "spool", f"{len(refused)} deliveries refused ({refused[:5]}) with a "
             "working spool")
    r.expect(p99 < budget_s, "latency", f"webhook p99 {p99:.2f} s (budget {budget_s} s)")


# [2] A zombie made at an exact step: the worker (supervisor and children) freezes right
# after its check-in committed, before a child has the job (checkin.after), or right after a
# child read the job handed over, before it starts it (child.read); the job is rescued and
# succeeds elsewhere; then the zombie is continued. It must not start the job it claimed
# before its lease ran out (its check-out would be refused, but the function, and its
# effects, would run once more after the job succeeded): the supervisor checks the claim's age
# before the hand-over, the child the lease's end when it reads the job.

def zombie_at(point):
    def run(r):
        r.scheduler()
        # One child: a point counts its passes per process, so a second child reading its own
        # job would stop the worker again once it is continued.
        w1 = r.spawn("jobfleet-worker", "worker-1", env={
            "JOBFLEET_FAULT_POINT": f"{point}@1", "JOBFLEET_FAULT_ACTION": "stop",
            "JOBFLEET_WORKER_CONCURRENCY": "1"})
        ids = r.enqueue(size(r, 2, 1), {"work_ms": 300})
        wait_until(lambda: r.fault_fired(), 30, f"worker-1 to freeze at {point}")
        w1.stopped = True
        r.event("fault", what="stop", pids=[w1.pid], pgids=[w1.pid], detail=point)
        r.worker("worker-2")
        in_ids = ",".join(map(str, ids))
        wait_until(lambda: r.count(f"id IN ({in_ids}) AND state = 'succeeded'") == len(ids),
                   T_BOUND_S * 3, "the frozen worker's jobs to succeed on worker-2")
        r.signal(w1, signal.SIGCONT, "cont")
        # Resumed, it gives the job up: its self-fence (no heartbeat for most of the lease)
        # stops the child or hands the claimed job back, or the supervisor's or the child's
        # check of the claim's age refuses to start it. (A start would be an attempt after the
        # success, which the checker reports as I2.)
        gave_up = ("not started", "worker stopped: no heartbeat", "handed back")
        try:
            wait_until(lambda: any(g in w1.log_text() for g in gave_up), 15,
                       "the zombie to give its job up")
        except RoundFailed as e:
            r.problem("zombie", f"{e} (see {w1.log})")
        time.sleep(1)  # the window in which a zombie would start what it claimed
    return run


scenario("zombie-stopped-after-checkin",
         "[2] worker frozen right after its check-in commit, continued after the rescue")(
    zombie_at("checkin.after"))
scenario("zombie-stopped-at-handover",
         "[2] worker frozen as its child read a job, continued after the rescue")(
    zombie_at("child.read"))


# [12] The spool on a full filesystem while MariaDB is down: a small tmpfs fills up; from then
# on every delivery is answered 503 (never 2xx without a durable copy), and every 2xx is a
# job once MariaDB is back.

@scenario("spool-disk-full", "[12] MariaDB down, the spool's small tmpfs fills: 503, never 2xx")
def spool_full(r):
    spool = os.path.join(r.dir, "spool-tmpfs")
    os.makedirs(spool)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", spool], check=True)
    try:
        r.scheduler()
        r.worker("worker-1")
        r.producer(env={"JOBFLEET_PRODUCER_SPOOL_DIR": spool,
                        "JOBFLEET_PRODUCER_SPOOL_MAX_BYTES": str(1 << 30)})
        r.event("fault", what="mariadb-stop", pgids=[])
        r.servers.run("stop-mysql")
        results = []
        try:
            pad = "x" * 2000  # about 30 entries fill 64 KiB
            for i in range(size(r, 80, 50)):
                results.append(r.webhook(f"full-{r.seed}-{i}", {"n": i, "pad": pad}))
        finally:
            r.servers.run("start-mysql")
            r.event("fault", what="mariadb-start", pgids=[])
        ok = [st for st, _, _ in results if 200 <= st < 300]
        refused = [st for st, _, _ in results if st == 503]
        r.event("figure", deliveries=len(results), accepted=len(ok), refused=len(refused))
        r.expect(ok and refused, "spool", f"{len(ok)} accepted, {len(refused)} refused: want "
                 "both (the tmpfs fills)")
        r.expect(len(ok) + len(refused) == len(results), "spool",
                 f"answers other than 2xx or 503: {sorted({st for st, _, _ in results})}")
        # Every 2xx must become a job: wait for the replay (the checker's I1 decides).
        keys = [f"'system:key:full-{r.seed}-{i}'" for i, (st, _, _) in enumerate(results)
                if 200 <= st < 300]
        wait_until(lambda: r.count(f"idempotency_key IN ({','.join(keys)}) AND state IN "
                                   "('succeeded','failed','cancelled')") == len(keys),
                   T_BOUND_S * 4, "the spooled deliveries to be replayed and run", step=0.5)
    finally:
        r.stop_all()  # the producer holds the spool open
        subprocess.run(["umount", "-l", spool])


# [6] Redis with an AOF (everysec), killed -9 and restarted under load: the IDs it restores
# (some already popped and run) are harmless duplicates: one check-in per attempt, one
# execution per job.

@scenario("redis-aof-kill9", "[6] Redis with AOF kill -9'd and restarted from its AOF under load")
def redis_aof(r):
    r.servers.redis_aof("start")
    try:
        r.scheduler()
        r.worker("worker-1")
        r.worker("worker-2")
        ids = r.enqueue(size(r, 20, 10), {"work_ms": 300})
        wait_until(lambda: len(r.begun()) >= 3, 30, "jobs to start")
        for _ in range(size(r, 2, 1)):
            time.sleep(1.2)  # past one everysec fsync, so the AOF holds popped IDs
            r.event("fault", what="redis-kill", pgids=[])
            r.servers.redis_aof("kill")
            time.sleep(r.rng.uniform(0.2, 1.0))
            r.servers.redis_aof("restart")
        wait_until(lambda: all_final(r, ids), T_BOUND_S * 4, "the jobs to finish", step=0.3)
        runs = int(r.sql("SELECT COUNT(*) FROM job_attempts WHERE job_id IN "
                         f"({','.join(map(str, ids))})")[0][0])
        r.expect(runs == len(ids), "executions", f"{runs} attempts for {len(ids)} jobs")
    finally:
        r.stop_all()
        r.servers.redis_aof("end")


# The scenarios of other modules register themselves here (they import this one).
import scenarios_clock  # noqa: E402,F401
import scenarios_net  # noqa: E402,F401
import scenarios_load  # noqa: E402,F401
