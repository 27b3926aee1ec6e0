"""The fault suite's load scenarios (FAULTS.md 21, 22): a huge backlog when the scheduler and
the workers start, and webhook load with MariaDB up, then down. Their full sizes (100,000 jobs;
200 requests/s for 10 minutes per phase) are for hand runs (3 rounds); the short sizes keep
the same shape at a size CI can afford. Registered into scenarios.SCENARIOS."""

import os
import subprocess
import threading
import time
import urllib.request

from fleet import REQUEUE_AFTER_S, T_BOUND_S, free_port, wait_until
from scenarios import scenario, size


def metric(port, name, label):
    """A counter's value from a /metrics page (0 when absent)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    for line in text.splitlines():
        if line.startswith(name) and label in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def rss_peak_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


# [21] A backlog of queued jobs whose IDs Redis does not hold (as after a Redis loss with the
# fleet down), then the scheduler and workers start: reconcile pushes them again in batches by
# an index, the scheduler's memory stays bounded, every job runs once. Figures: drain time,
# re-pushes, scheduler peak RSS. Jobs are System/Noop (the backlog is about the fleet's
# bookkeeping, not the upstream's), inserted by SQL from MariaDB's sequence engine.

@scenario("backlog-restart", "[21] 100k queued jobs unknown to Redis, then scheduler and workers "
          "start", rounds=3)
def backlog(r):
    n = size(r, 100000, 3000)
    r.sql("INSERT INTO jobs (uuid, origin, queue, action, parameters, priority, state, run_at, "
          "max_attempts, timeout_s, dt_created, dt_queued) "
          "SELECT UUID(), 'api', 'default', 'System/Noop', '{}', 5, 'queued', NOW(6), 3, 60, "
          f"NOW(6), NOW(6) - INTERVAL 1 HOUR FROM seq_1_to_{n}")
    for (job,) in r.sql("SELECT id FROM jobs"):
        r.event("ack", job=int(job), via="sql")
    explain = subprocess.run([os.path.join(r.build, "jobfleet-scheduler"), "--config", r.conf,
                              "--explain"], capture_output=True, text=True, env=r.env(),
                             timeout=120)
    r.expect(explain.returncode == 0, "explain", "a tick query reads the whole jobs table: "
             f"{explain.stdout.strip()[-300:]} {explain.stderr.strip()[-300:]}")
    mport = free_port()
    t0 = time.time()
    # ASan keeps up to 256 MB of freed memory in quarantine by default, which would hide the
    # scheduler's own use: a small quarantine lets the peak RSS speak of the scheduler.
    asan = r.env()["ASAN_OPTIONS"] + ":quarantine_size_mb=8"
    sched = r.scheduler(env={"JOBFLEET_SCHEDULER_METRICS_LISTEN": f"127.0.0.1:{mport}",
                             "ASAN_OPTIONS": asan})
    for i in range(2):
        r.worker(f"worker-{i + 1}", concurrency=4)
    wait_until(lambda: r.count("state IN ('succeeded','failed','cancelled')") == n,
               size(r, 1800, 300), "the backlog to drain", step=1.0)
    drain_s = time.time() - t0
    repushed = metric(mport, "jobfleet_scheduler_step_rows_total", 'step="reconcile_repushed"')
    rss = rss_peak_kb(sched.pid)
    runs = int(r.sql("SELECT COUNT(*) FROM job_attempts")[0][0])
    r.event("figure", backlog=n, drain_s=round(drain_s, 1), jobs_per_s=round(n / drain_s, 1),
            repushed=int(repushed), scheduler_rss_peak_mb=round(rss / 1024, 1), attempts=runs)
    scans = drain_s / REQUEUE_AFTER_S + 1
    r.expect(repushed <= n * scans, "repush", f"{repushed:.0f} re-pushes for {n} rows over "
             f"{scans:.0f} scans: more than one per row per scan")
    # Bounded memory: the scan is batched, so the backlog's size must not show (an ASan build
    # carries its shadow memory on top).
    r.expect(rss < 400 * 1024, "rss", f"scheduler peak RSS {rss / 1024:.0f} MB")
    r.expect(runs == n, "executions", f"{runs} attempts for {n} jobs")


# [22] Webhook load: rate requests/s for a while with MariaDB up, then the same with it down
# (spooled, fsync then 202), then it comes back and the spool is replayed exactly once. Every
# 2xx is a job (the checker's I1 over acked keys) and one per key (I5). Figures per phase:
# deliveries, p99 latency, refusals; the spool's size and its replay time.

def paced_load(r, tag, rate, seconds, results):
    """Sends rate requests/s for seconds from enough threads, each delivery with its own key."""
    lanes = max(2, rate // 10)
    stop_at = time.time() + seconds

    def lane(k):
        i, period = 0, lanes / rate
        next_t = time.time() + r.rng.random() * period
        while True:
            now = time.time()
            if now >= stop_at:
                return
            if now < next_t:
                time.sleep(next_t - now)
            results.append(r.webhook(f"{tag}-{r.seed}-{k}-{i}", path="system/echo"))
            i += 1
            next_t += period

    threads = [threading.Thread(target=lane, args=(k,)) for k in range(lanes)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


def phase_figures(results):
    lat = sorted(t for _, _, t in results)
    p99 = lat[max(0, int(len(lat) * 0.99) - 1)] if lat else 0
    refused = [st for st, _, _ in results if not 200 <= st < 300]
    return p99, refused


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


@scenario("webhook-load", "[22] webhooks at 200/s for 10 min with MariaDB up, then down",
          rounds=3)
def webhook_load(r):
    rate, seconds = size(r, 200, 20), size(r, 600, 3)
    r.scheduler()
    for i in range(2):
        r.worker(f"worker-{i + 1}", concurrency=4)
    r.producer(env={"JOBFLEET_PRODUCER_THREADS": "16"})
    up = []
    paced_load(r, "up", rate, seconds, up)
    p99_up, refused_up = phase_figures(up)
    r.event("fault", what="mariadb-stop", pgids=[])
    r.servers.run("stop-mysql")
    down = []
    try:
        paced_load(r, "down", rate, seconds, down)
        spool_bytes = dir_bytes(os.path.join(r.dir, "spool"))
    finally:
        r.servers.run("start-mysql")
        r.event("fault", what="mariadb-start", pgids=[])
    t0 = time.time()
    p99_down, refused_down = phase_figures(down)
    accepted = len(up) + len(down) - len(refused_up) - len(refused_down)
    wait_until(lambda: r.count("origin = 'webhook'") >= accepted, T_BOUND_S * 4 + seconds * 2,
               "every accepted delivery to be a job (spool replay)", step=0.5)
    replay_s = time.time() - t0
    # Drained before the driver's settle (whose deadline is sized for small workloads).
    wait_until(lambda: r.count("state NOT IN ('succeeded','failed','cancelled')") == 0,
               120 + accepted / 50, "the deliveries' jobs to run", step=1.0)
    r.event("figure", rate=rate, seconds=seconds, up=len(up), up_p99_s=round(p99_up, 3),
            down=len(down), down_p99_s=round(p99_down, 3), spool_bytes=spool_bytes,
            replay_s=round(replay_s, 1))
    r.expect(len(up) >= rate * seconds * 0.9, "workload",
             f"{len(up)} deliveries in {seconds} s, want {rate}/s")
    r.expect(not refused_up and not refused_down, "refused",
             f"{len(refused_up)} refused with MariaDB up, {len(refused_down)} while it was down")
    r.expect(p99_up < 2.0 and p99_down < 2.0, "latency",
             f"p99 {p99_up:.2f} s up, {p99_down:.2f} s down (budget 2 s)")
