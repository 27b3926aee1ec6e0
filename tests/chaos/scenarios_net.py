"""The fault suite's network partitions (FAULTS.md 25, 26): a worker, or the producer, in a
network namespace of its own (netns.py), cut from MariaDB by an nftables drop rule while Redis
and the upstream stay reachable, then healed. Registered into scenarios.SCENARIOS."""

import time

from fleet import LEASE_S, T_BOUND_S, RoundFailed, wait_until
from scenarios import all_final, scenario, size, spool_checks, webhooks_across


# [25] A worker cut from MariaDB for longer than its lease while its jobs run: the scheduler
# declares it lost and its jobs run again on the other worker; the cut worker must not go on
# running them meanwhile (I2), its late check-outs are refused once the link heals (fenced),
# and it carries on with new work.

@scenario("partition-worker", "[25] a worker's namespace cut from MariaDB past the lease, healed")
def partition_worker(r):
    ns = r.netns()
    r.scheduler()
    w1 = r.worker("worker-1", ns=ns)
    ids = r.enqueue(2, {"work_ms": (2 * LEASE_S + 2) * 1000}, extra=("--timeout", "60"))

    def begun_on_w1():
        return {b["job"] for b in r.begun() if b["pgid"] == w1.pid} >= set(ids)
    wait_until(begun_on_w1, 30, "the jobs to begin on the worker in the namespace")
    r.event("fault", what="partition", pids=[w1.pid], pgids=[],
            detail=f"{ns.name} cut from MariaDB")
    ns.cut(r.servers.my_port)
    cut_at = time.time()
    w2 = r.worker("worker-2")
    in_ids = ",".join(map(str, ids))
    try:
        wait_until(lambda: r.count(f"id IN ({in_ids}) AND state = 'succeeded'") == len(ids),
                   T_BOUND_S * 3, "the cut worker's jobs to succeed elsewhere")
        # Cut for the lease at least and a random while more, then healed.
        hold = max(0.0, LEASE_S + r.rng.uniform(0.5, size(r, 10, 2)) - (time.time() - cut_at))
        time.sleep(hold)
    finally:
        ns.heal()
        r.event("fault", what="heal", pids=[w1.pid], pgids=[], detail=f"{ns.name} healed")
    # Its outcomes of the recovered attempts (run to the end, or stopped by its self-fence)
    # reach MariaDB once the link heals, and must be refused.
    try:
        wait_until(lambda: w1.log_text().count("outcome not recorded") >= len(ids), 30,
                   "the cut worker's late check-outs to be refused")
    except RoundFailed as e:
        r.problem("fence", f"{e} (see {w1.log})")
    # It carries on: new work reaches it too (worker-2 stopped so that only it is left).
    r.signal(w2, 15, "term", group=False)
    w2.popen.wait(timeout=30)
    more = r.enqueue(size(r, 6, 3), {"work_ms": 100})
    wait_until(lambda: all_final(r, more), T_BOUND_S * 3, "new jobs to run on the healed worker")
    r.expect(w1.alive(), "worker", f"the cut worker died (see {w1.log})")
    r.expect(any(b["pgid"] == w1.pid and b["job"] in more for b in r.begun()), "carry-on",
             "the healed worker ran none of the new jobs")


# [26] The producer cut from MariaDB under webhook load: deliveries are spooled (fsync, then
# 202) while it cannot reach MariaDB and replayed exactly once after the heal; every 2xx
# becomes a job (the checker's I1 over acked keys, I5 one job per key). FAULTS.md heals after
# 2 minutes; the short size after 5 s.

@scenario("partition-producer", "[26] the producer's namespace cut from MariaDB under webhook load",
          rounds=3)
def partition_producer(r):
    ns = r.netns()
    r.scheduler()
    r.worker("worker-1", concurrency=4)
    r.worker("worker-2", concurrency=4)
    r.producer(ns=ns)

    def fault():
        r.event("fault", what="partition", pgids=[], detail=f"{ns.name} (producer) cut")
        ns.cut(r.servers.my_port)
        try:
            time.sleep(size(r, 120, 5))
        finally:
            ns.heal()
            r.event("fault", what="heal", pgids=[], detail=f"{ns.name} healed")

    # About 16 deliveries/s in the full size: some 2,000 System/Effect jobs to run after the heal.
    results = webhooks_across(r, "part", size(r, 8, 3), size(r, 0.5, 0.2), fault)
    # Cut, a delivery waits for MariaDB up to [producer] db_timeout_ms (2 s), then is spooled.
    spool_checks(r, results, "while the producer was cut", 3.0)
    accepted = sum(1 for st, _, _ in results if 200 <= st < 300)
    wait_until(lambda: r.count("origin = 'webhook'") >= accepted, T_BOUND_S * 4,
               "every accepted delivery to be a job (spool replay)", step=0.5)
    wait_until(lambda: r.count("state NOT IN ('succeeded','failed','cancelled')") == 0,
               60 + accepted / 10, "the deliveries' jobs to run", step=1.0)
