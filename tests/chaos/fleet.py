"""The fault suite's harness: one round of one scenario on private servers. A Round makes a
private database and Redis prefix, writes the config, starts the fake upstream, the
schedulers and the workers (each worker in a session of its own, so a kill -9 takes its
children too), applies a workload, records the driver's side of the history (acks, injected
faults), waits for the fleet to settle, reads what MariaDB holds, and merges everything into
one history for checker.py.

Servers are shared by the rounds of one driver run (tests/servers start DIR), and are the
driver's own: a scenario may restart, flush or stop them.
"""

import glob
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
FINAL = ("succeeded", "failed", "cancelled")

# The fleet's timing in every round: short leases so that recoveries take seconds.
LEASE_S = 3
HEARTBEAT_S = 1
REQUEUE_AFTER_S = 2
TICK_MS = 200
BACKOFF_CAP_S = 4  # System/Effect's (jobs/actions.def)
# Allowance for a loaded 2-core machine running ASan builds (see docs/chaos.md).
SLACK_S = 6
T_BOUND_S = LEASE_S + HEARTBEAT_S + REQUEUE_AFTER_S + BACKOFF_CAP_S + SLACK_S


class RoundFailed(Exception):
    """The round could not be run (a process did not start, a deadline passed): an error of
    the harness or of the fleet, reported as a failed run with this message."""


def wait_until(cond, timeout_s, what, step=0.05):
    deadline = time.time() + timeout_s
    while True:
        v = cond()
        if v:
            return v
        if time.time() > deadline:
            raise RoundFailed(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(step)


def free_port():
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


class Servers:
    """MariaDB and Redis of this driver run, started by tests/servers."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "servers")
        os.makedirs(self.dir, exist_ok=True)
        self.tool = os.path.join(TOP, "tests", "servers")
        self.run("start")
        self.env = {}
        with open(os.path.join(self.dir, "env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                if k:
                    self.env[k] = v
        self.my_port = int(self.env["JOBFLEET_TEST_MYSQL_PORT"])
        self.redis_port = int(self.env["JOBFLEET_TEST_REDIS_PORT"])
        self.socket = self.env["JOBFLEET_TEST_MYSQL_SOCKET"]

    def run(self, cmd):
        # The servers' reaper stops them if this driver is killed (ctest's timeout).
        env = dict(os.environ, JOBFLEET_SERVERS_OWNER=str(os.getpid()))
        r = subprocess.run([self.tool, cmd, self.dir], capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise RoundFailed(f"tests/servers {cmd}: {r.stderr.strip()}")

    def stop(self):
        self.run("stop")

    def redis_aof(self, action):
        """Replaces the servers' Redis with one on the same port that persists to an AOF
        (appendfsync everysec) under this run's directory: action "start" stops the usual one
        first, "kill" kill -9s the AOF one, "restart" starts it again from its AOF, "end" stops
        it and starts the usual one again."""
        aof = os.path.join(self.dir, "aof")
        if action == "start":
            self.run("stop-redis")
            shutil.rmtree(aof, ignore_errors=True)
            os.makedirs(aof)
        if action in ("kill", "end") and getattr(self, "aof_proc", None):
            self.aof_proc.send_signal(signal.SIGKILL if action == "kill" else signal.SIGTERM)
            self.aof_proc.wait(timeout=30)
            self.aof_proc = None
        if action in ("start", "restart"):
            self.aof_proc = subprocess.Popen(
                ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
                 "--dir", aof, "--logfile", os.path.join(aof, "redis.log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_until(lambda: subprocess.run(["redis-cli", "-p", str(self.redis_port), "ping"],
                                              capture_output=True).returncode == 0,
                       30, "Redis with AOF to answer", step=0.1)
        if action == "end":
            self.run("start-redis")

    def redis_pid(self):
        with open(os.path.join(self.dir, "redis.pid.launch")) as f:
            return int(f.read().strip())

    def sql(self, query, db=None):
        """Runs query as root over the socket; returns the rows as lists of text."""
        args = ["mariadb", "--no-defaults", "-S", self.socket, "-uroot", "--batch",
                "--skip-column-names", "--raw", "-e", query]
        if db:
            args.append(db)
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RoundFailed(f"SQL failed: {r.stderr.strip()} ({query[:80]})")
        return [line.split("\t") for line in r.stdout.splitlines()]

    def redis(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.redis_port), *args],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RoundFailed(f"redis-cli {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout


def faketime_env(offset_s):
    """The environment that runs a process with its wall clock offset_s seconds off, by Debian's
    libfaketime (tests/install-deps installs it): CLOCK_REALTIME only, the monotonic clock stays
    true, as on a host whose NTP is off. ASan wants its runtime first in the library list; a
    preloaded libfaketime comes before it, which is harmless here."""
    libs = glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1")
    if not libs:
        raise RoundFailed("libfaketime is missing: install Debian's faketime (tests/install-deps)")
    asan = os.environ.get("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:handle_segv=0")
    return {"LD_PRELOAD": libs[0], "FAKETIME": f"{offset_s:+d}s", "DONT_FAKE_MONOTONIC": "1",
            "FAKETIME_NO_CACHE": "1", "ASAN_OPTIONS": asan + ":verify_asan_link_order=0"}


class Resp:
    """A minimal Redis client (RESP over a socket) for the scenarios that push IDs fast; a
    redis-cli process per command is too slow to race the workers."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.rfile = self.sock.makefile("rb")

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self.reply(args[0])

    def reply(self, cmd):
        """One reply: a simple or integer reply as text, a bulk string as text (None for a
        null one), an array as a list of replies."""
        line = self.rfile.readline()
        if not line or line[:1] == b"-":
            raise RoundFailed(f"redis {cmd}: {line.decode(errors='replace').strip()}")
        kind, rest = line[:1], line[1:].strip().decode()
        if kind == b"$":
            if int(rest) < 0:
                return None
            data = self.rfile.read(int(rest) + 2)
            return data[:-2].decode()
        if kind == b"*":
            return [self.reply(cmd) for _ in range(max(int(rest), 0))]
        return rest

    def close(self):
        self.rfile.close()
        self.sock.close()


class Proc:
    def __init__(self, name, popen, log):
        self.name, self.popen, self.log = name, popen, log
        self.pid = popen.pid
        self.stopped = False

    def alive(self):
        return self.popen.poll() is None

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Round:
    """One run of one scenario. The scenario calls its methods; run() does the rest."""

    def __init__(self, servers, build, scenario, seed, workdir, short):
        self.servers, self.build, self.scenario = servers, build, scenario
        self.seed, self.short = seed, short
        self.rng = random.Random(seed)
        self.dir = workdir
        shutil.rmtree(self.dir, ignore_errors=True)  # a seed run again starts afresh
        os.makedirs(self.dir)
        tag = f"{scenario.replace('-', '_')}_{seed}_{os.getpid()}"
        self.db_name = f"chaos_{tag}"[:64]
        self.prefix = f"chaos:{tag}"
        self.procs = []
        self.problems = []  # scenario-level checks that failed: (what, message)
        self.lock = threading.Lock()
        self.driver_log = open(os.path.join(self.dir, "driver.jsonl"), "a")
        self.effects_path = os.path.join(self.dir, "effects.jsonl")
        self.faults_path = os.path.join(self.dir, "faults.jsonl")
        self.clock_path = os.path.join(self.dir, "clock")
        self.conf = os.path.join(self.dir, "jobfleet.conf")
        self.acked = []
        self.namespaces = []
        self.producer_host = "127.0.0.1"

    # The history.

    def event(self, ev, **kw):
        kw = {"ev": ev, "t": time.time(), **kw}
        with self.lock:
            self.driver_log.write(json.dumps(kw) + "\n")
            self.driver_log.flush()
        return kw

    def problem(self, what, msg):
        self.problems.append((what, msg))

    def expect(self, cond, what, msg):
        if not cond:
            self.problem(what, msg)
        return cond

    # Setup.

    def setup(self, extra_conf=""):
        s = self.servers
        s.sql(f"CREATE DATABASE `{self.db_name}`")
        self.fake = self.spawn_fake()
        self.producer_port = free_port()
        # 0600: the programs refuse a config that holds a secret and others can read.
        fd = os.open(self.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"""[mysql]
host = 127.0.0.1
port = {s.my_port}
user = jf
password = secret
database = {self.db_name}
connect_timeout_s = 2
read_timeout_s = 10

[redis]
host = 127.0.0.1
port = {s.redis_port}
prefix = {self.prefix}

[worker]
concurrency = 2
test_actions = true
heartbeat_s = {HEARTBEAT_S}
lease_s = {LEASE_S}
drain_timeout_s = 10
kill_grace_s = 1

[scheduler]
tick_ms = {TICK_MS}
requeue_after_s = {REQUEUE_AFTER_S}
timeout_grace_s = 2
timezone = UTC

[producer]
listen = 127.0.0.1:{self.producer_port}
spool_dir = {self.dir}/spool
api_token = chaos-token-0123456789

[webhook.system]
auth = none

[service.effects]
base_url = http://127.0.0.1:{self.fake_port}
timeout_ms = 5000
max_attempts = 3

[log]
level = debug
{extra_conf}
""")
        self.cli("migrate")
        self.event("run", scenario=self.scenario, seed=self.seed, lease_s=LEASE_S,
                   grace_s=HEARTBEAT_S + 1, t_bound_s=T_BOUND_S)

    def spawn_fake(self):
        log = os.path.join(self.dir, "effects.log")
        p = subprocess.Popen([sys.executable, os.path.join(TOP, "tests", "fakes", "effects.py"),
                              "--history", self.effects_path], stdout=subprocess.PIPE,
                             stderr=open(log, "w"), text=True, start_new_session=True)
        line = p.stdout.readline().strip()
        if not line.isdigit():
            p.kill()
            raise RoundFailed(f"the effects fake did not start (see {log})")
        self.fake_port = int(line)
        proc = Proc("effects", p, log)
        self.procs.append(proc)
        return proc

    def fake_control(self, path, doc):
        """POSTs doc to the fake upstream's control API (fakehttp.py)."""
        req = urllib.request.Request(f"http://127.0.0.1:{self.fake_port}{path}",
                                     data=json.dumps(doc).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            if resp.status != 200:
                raise RoundFailed(f"fake control {path}: HTTP {resp.status}")

    def env(self, extra=None):
        e = dict(os.environ)
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:handle_segv=0")
        e.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        e["JOBFLEET_FAULT_LOG"] = self.faults_path
        e.pop("JOBFLEET_FAULT_POINT", None)
        e.update(extra or {})
        return e

    def spawn(self, binary, name, args=(), env=None, prefix=()):
        log = os.path.join(self.dir, f"{name}.log")
        p = subprocess.Popen([*prefix, os.path.join(self.build, binary), "--config", self.conf,
                              *args],
                             stdout=open(log, "a"), stderr=subprocess.STDOUT,
                             env=self.env(env), start_new_session=True)
        proc = Proc(name, p, log)
        self.procs.append(proc)
        return proc

    def worker(self, name="worker", fault=None, concurrency=None, env=None, ns=None):
        env = dict(env or {})
        if ns:
            env.update(self.netns_env(ns))
        if fault:
            env["JOBFLEET_FAULT_POINT"] = fault
        if concurrency:
            env["JOBFLEET_WORKER_CONCURRENCY"] = str(concurrency)
        return self.spawn("jobfleet-worker", name, env=env, prefix=ns.prefix() if ns else ())

    def netns(self):
        """A network namespace of this round (netns.py), deleted when the round stops."""
        import netns
        ns = netns.Netns()
        self.namespaces.append(ns)
        return ns

    def netns_env(self, ns):
        """The environment of a fleet process inside ns: the servers and the fake upstream
        through the namespace's relays."""
        s = self.servers
        return {"JOBFLEET_MYSQL_HOST": ns.addr, "JOBFLEET_MYSQL_PORT": str(ns.relay(s.my_port)),
                "JOBFLEET_REDIS_HOST": ns.addr,
                "JOBFLEET_REDIS_PORT": str(ns.relay(s.redis_port)),
                "JOBFLEET_SERVICE_EFFECTS_BASE_URL":
                    f"http://{ns.addr}:{ns.relay(self.fake_port)}"}

    def scheduler(self, name="scheduler", env=None):
        return self.spawn("jobfleet-scheduler", name, env=env)

    def producer(self, name="producer", env=None, ns=None):
        """Starts the producer (inside ns when given) and waits until it answers."""
        env = dict(env or {})
        if ns:
            env.update(self.netns_env(ns))
            env["JOBFLEET_PRODUCER_LISTEN"] = f"{ns.ns_addr}:{self.producer_port}"
            self.producer_host = ns.ns_addr
        p = self.spawn("jobfleet-producer", name, env=env, prefix=ns.prefix() if ns else ())

        def up():
            try:
                with urllib.request.urlopen(
                        f"http://{self.producer_host}:{self.producer_port}/health",
                                            timeout=2):
                    return True
            except OSError:
                return not p.alive() and (_ for _ in ()).throw(
                    RoundFailed(f"the producer exited (see {p.log})"))
        wait_until(up, 30, "the producer to answer")
        return p

    def webhook(self, key, body=None, path="system/effect"):
        """POSTs one delivery to /webhook/PATH (System/Effect's, or system/echo: System/Echo's,
        which calls no upstream) with an Idempotency-Key; records an ack (by key: a spooled
        delivery has no job id yet) when the answer is 2xx. Returns (status, parsed body or
        None, seconds)."""
        data = json.dumps(body or {"n": key}).encode()
        req = urllib.request.Request(
            f"http://{self.producer_host}:{self.producer_port}/webhook/{path}", data=data,
            method="POST", headers={"Content-Type": "application/json", "Idempotency-Key": key})
        sent = time.time()
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status, text = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        except OSError:
            status, text = 0, b""
        took = time.time() - sent
        try:
            doc = json.loads(text or b"null")
        except ValueError:
            doc = None
        if 200 <= status < 300:
            self.event("ack", key=f"system:key:{key}", via="webhook", sent=sent, status=status)
        return status, doc, took

    def cli(self, *args, check=True, env=None):
        r = subprocess.run([os.path.join(self.build, "jobfleet"), "--config", self.conf, *args],
                           capture_output=True, text=True, env=self.env(env), timeout=60)
        if check and r.returncode != 0:
            raise RoundFailed(f"jobfleet {' '.join(args)}: exit {r.returncode}: "
                              f"{r.stderr.strip()}")
        return r

    def db_now(self):
        """MariaDB's clock (unix seconds, float): the fleet's one clock."""
        return float(self.sql("SELECT UNIX_TIMESTAMP(NOW(6))")[0][0])

    # Workload.

    def enqueue(self, n, params=None, parallel=4, extra=(), action="System/Effect"):
        """Enqueues n jobs (System/Effect unless action says) through the CLI (extra: more
        enqueue flags); each printed id is an ack."""
        params = json.dumps(params or {"work_ms": 300})

        def one(_):
            # A refused enqueue (exit 1: MariaDB away or a lock wait) is no ack: like any
            # client, try again a few times.
            for _ in range(10):
                sent = time.time()
                r = self.cli("enqueue", action, "--params", params, *extra, check=False)
                if r.returncode != 1:
                    break
                time.sleep(0.5)
            if r.returncode != 0:
                raise RoundFailed(f"jobfleet enqueue {action}: exit {r.returncode}: "
                                  f"{r.stderr.strip()}")
            job = int(r.stdout.strip())
            self.event("ack", job=job, via="cli", sent=sent)
            with self.lock:
                self.acked.append(job)
            return job

        with ThreadPoolExecutor(parallel) as ex:
            return list(ex.map(one, range(n)))

    # Faults.

    def signal(self, proc, sig, what, group=True):
        """Sends sig to proc's process group (group) or to proc alone, and records it."""
        t = self.event("fault", what=what, pids=[proc.pid], pgids=[proc.pid] if group else [],
                       detail=f"{signal.Signals(sig).name} {proc.name}")
        try:
            if group:
                os.killpg(proc.pid, sig)
            else:
                os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
        if sig == signal.SIGSTOP:
            proc.stopped = True
        elif sig == signal.SIGCONT:
            proc.stopped = False
        return t

    def kill9(self, proc):
        self.signal(proc, signal.SIGKILL, "kill")
        proc.popen.wait(timeout=30)

    def fault_fired(self):
        """The fault-point events so far."""
        try:
            with open(self.faults_path) as f:
                return [json.loads(x) for x in f if x.strip()]
        except OSError:
            return []

    # Reading the fleet.

    def sql(self, query):
        return self.servers.sql(query, db=self.db_name)

    def count(self, where):
        return int(self.sql(f"SELECT COUNT(*) FROM jobs WHERE {where}")[0][0])

    def effects(self):
        """The events the fake logged so far."""
        try:
            with open(self.effects_path) as f:
                return [json.loads(x) for x in f if x.endswith("\n")]
        except OSError:
            return []

    def begun(self):
        """The begin events the fake logged so far."""
        return [e for e in self.effects() if e["ev"] == "begin"]

    def settle(self, timeout_s=None):
        """Waits until every job is final (or the deadline passes: the checker then says
        what is wrong)."""
        timeout_s = timeout_s or (T_BOUND_S * 3 + 30)
        try:
            wait_until(lambda: self.count("state NOT IN ('succeeded','failed','cancelled')") == 0,
                       timeout_s, "every job to be final", step=0.2)
            return True
        except RoundFailed:
            return False

    def collect(self):
        """Appends what MariaDB holds to the history: attempts, final rows, cron acks."""
        rows = self.sql(
            "SELECT JSON_OBJECT('ev','checkout','t',UNIX_TIMESTAMP(a.dt_completed),"
            "'start',UNIX_TIMESTAMP(a.dt_started),'job',a.job_id,'attempt',a.attempt,"
            "'instance',a.instance_id,'instance_pid',w.pid,'outcome',a.outcome,"
            "'reason',a.reason) FROM job_attempts a "
            "LEFT JOIN worker_instances w ON w.id = a.instance_id")
        rows += self.sql(
            "SELECT JSON_OBJECT('ev','final','t',UNIX_TIMESTAMP(NOW(6)),'job',j.id,"
            "'state',j.state,'attempt',j.attempt,'max_attempts',j.max_attempts,"
            "'reason',j.failure_reason,'origin',j.origin,'key',j.idempotency_key,"
            "'heartbeat_age_s',"
            "IF(j.state='running',TIMESTAMPDIFF(MICROSECOND,w.dt_heartbeat,NOW(6))/1e6,NULL)) "
            "FROM jobs j LEFT JOIN worker_instances w ON w.id = j.instance_id")
        rows += self.sql(
            "SELECT JSON_OBJECT('ev','ack','t',UNIX_TIMESTAMP(dt_created),'job',id,'via',"
            "'cron') FROM jobs WHERE origin = 'cron'")
        with open(os.path.join(self.dir, "db.jsonl"), "w") as f:
            for r in rows:
                f.write(r[0] + "\n")

    def stop_all(self):
        for p in self.procs:
            if p.stopped:
                self.signal(p, signal.SIGCONT, "cont")
        for p in reversed(self.procs):
            if p.alive():
                try:
                    os.kill(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 20
        for p in self.procs:
            try:
                p.popen.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.popen.wait(timeout=10)
            if p.name.startswith("worker") or p.name.startswith("scheduler"):
                self.check_log(p)
        for ns in self.namespaces:
            ns.close()
        self.namespaces = []

    def check_log(self, p):
        text = p.log_text()
        for bad in ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer"):
            if bad in text:
                self.problem("sanitizer", f"{p.name}: {bad} (see {p.log})")

    def history(self):
        """Merges the sources into history.jsonl and returns its path."""
        self.event("stop")
        self.driver_log.close()
        out = os.path.join(self.dir, "history.jsonl")
        events = []
        for name in ("driver.jsonl", "effects.jsonl", "faults.jsonl", "db.jsonl"):
            p = os.path.join(self.dir, name)
            if os.path.exists(p):
                with open(p) as f:
                    events += [json.loads(x) for x in f if x.strip()]
        events.sort(key=lambda e: e["t"])
        with open(out, "w") as f:
            for e in events:
                f.write(json.dumps(e) + "\n")
        return out

    def drop(self):
        try:
            self.servers.sql(f"DROP DATABASE IF EXISTS `{self.db_name}`")
        except RoundFailed:
            pass

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)
