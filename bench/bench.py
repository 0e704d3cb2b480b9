#!/usr/bin/python3
"""bench.py - the Python half of bench/run.sh (run with Debian's /usr/bin/python3).

Subcommands:
  freeport                      print a free TCP port on 127.0.0.1
  sign HOST:PORT OUT            sign one DynamoDB Query with botocore's SigV4Auth using the
                                AWS_* credentials in the environment and write it for
                                bench/replay.lua ("Name: value" header lines, a blank line,
                                the body)
  fsync DIR [N]                 time write+fdatasync of 512 B in DIR (overwrite in place and
                                append), print JSON with the medians and p99s in microseconds
  startup N OUT -- CMD...       exec CMD N times, time from exec to the first 200 on GET /
                                (the listen address is read from --listen in CMD); JSON
  conns HOST:PORT PID N         open N keep-alive HTTP/1.1 connections, send one signed
                                Query on each, hold them open, read VmRSS of PID; JSON
  paced OUT RATE SECONDS NAME=HOST:PORT:REQFILE...
                                interleaved, paced latency: RATE times a second, one request
                                on each path (one keep-alive connection each, random order),
                                so every path sees the same upstream load and the same
                                machine noise; JSON with percentiles per path
  mem PID                       print VmRSS, RssAnon, RssFile and Pss (KiB) of PID as JSON
  wrk OUT [LABEL=PID...] -- WRK ARGS...
                                run wrk, its output to OUT, then a CPUJSON line with the CPU
                                share (percent of one core) of each LABEL (a PID and its
                                children, e.g. nginx's workers) and of wrk itself
  summary OUTDIR                gather OUTDIR's raw files into OUTDIR/results.json and print
                                the summary table
  quick OUTDIR                  one line per round of the BENCH_QUICK runs (c=1 latency,
                                c=32 throughput, CPU and context switches per request)
  ab OUTDIR                     BENCH_AB's runs: build B (breakglass_b) against build A
                                (breakglass) round by round, and the medians of the ratios
  sinks OUTDIR                  the gateway with audit sinks on against the same gateway
                                without, round by round (thr-breakglass{,_sinks}-rsN.txt),
                                and the ratio of the medians
"""
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time

QUERY_BODY = json.dumps(
    {
        "TableName": "Orders",
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "customer#1"}},
    },
    separators=(",", ":"),
)


def freeport():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sign(hostport, region="us-east-1"):
    """Return (headers list, body) of a Query signed for http://HOSTPORT/."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    creds = Credentials(
        os.environ["AWS_ACCESS_KEY_ID"],
        os.environ["AWS_SECRET_ACCESS_KEY"],
        os.environ.get("AWS_SESSION_TOKEN") or None,
    )
    req = AWSRequest(
        method="POST",
        url="http://%s/" % hostport,
        data=QUERY_BODY.encode(),
        headers={
            "Host": hostport,
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.Query",
        },
    )
    SigV4Auth(creds, "dynamodb", region).add_auth(req)
    return list(req.headers.items()), QUERY_BODY


def cmd_sign(hostport, out):
    headers, body = sign(hostport)
    with open(out, "w") as f:
        for k, v in headers:
            f.write("%s: %s\n" % (k, v))
        f.write("\n")
        f.write(body)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def cmd_fsync(d, n=1000):
    res = {"n": n}
    buf = b"\xa5" * 512
    for mode in ("overwrite", "append"):
        path = os.path.join(d, "fsync-probe-%s" % mode)
        fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        try:
            if mode == "overwrite":
                os.write(fd, buf * 8)
                os.fsync(fd)
            ts = []
            for i in range(n):
                t0 = time.perf_counter_ns()
                if mode == "overwrite":
                    os.pwrite(fd, buf, (i % 8) * 512)
                else:
                    os.write(fd, buf)
                os.fdatasync(fd)
                ts.append((time.perf_counter_ns() - t0) / 1000.0)
        finally:
            os.close(fd)
            os.unlink(path)
        res[mode + "_p50_us"] = round(statistics.median(ts), 1)
        res[mode + "_p99_us"] = round(pct(ts, 99), 1)
    print(json.dumps(res))


def http_get_ok(host, port):
    try:
        c = http.client.HTTPConnection(host, port, timeout=1)
        c.request("GET", "/")
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status == 200 and body.startswith(b"healthy")
    except OSError:
        return False


def cmd_startup(n, out, cmd):
    listen = cmd[cmd.index("--listen") + 1]
    host, port = listen.rsplit(":", 1)
    port = int(port)
    times = []
    with open(out, "a") as log:
        for _ in range(n):
            t0 = time.perf_counter()
            p = subprocess.Popen(cmd, stdout=log, stderr=log)
            ok = False
            while time.perf_counter() - t0 < 10:
                if p.poll() is not None:
                    break
                if http_get_ok(host, port):
                    ok = True
                    break
                time.sleep(0.0005)
            dt = (time.perf_counter() - t0) * 1000.0
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if not ok:
                print(json.dumps({"error": "no healthy answer", "rc": p.returncode}))
                return 1
            times.append(round(dt, 2))
    print(json.dumps({"runs_ms": times, "median_ms": round(statistics.median(times), 2)}))
    return 0


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def threads(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def cmd_conns(hostport, pid, n):
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 256), hard))
    host, port = hostport.rsplit(":", 1)
    before = rss_kib(pid)
    conns, statuses = [], {}
    headers, body = sign(hostport)
    hdrs = dict(headers)
    t0 = time.perf_counter()
    for _ in range(n):
        c = http.client.HTTPConnection(host, int(port), timeout=30)
        c.request("POST", "/", body=body.encode(), headers=hdrs)
        r = c.getresponse()
        r.read()
        statuses[r.status] = statuses.get(r.status, 0) + 1
        if r.will_close:
            statuses["closed"] = statuses.get("closed", 0) + 1
        conns.append(c)
    elapsed = time.perf_counter() - t0
    time.sleep(1.0)  # let every connection thread settle
    open_now = sum(1 for c in conns if c.sock is not None)
    mem_open = mem_kib(pid)
    during = mem_open["VmRSS"]
    thr = mem_open.get("Threads", threads(pid))
    for c in conns:
        c.close()
    time.sleep(1.0)
    after = rss_kib(pid)
    print(
        json.dumps(
            {
                "n": n,
                "statuses": {str(k): v for k, v in statuses.items()},
                "open": open_now,
                "rss_before_kib": before,
                "rss_open_kib": during,
                "mem_open": mem_open,
                "threads_open": thr,
                "rss_after_close_kib": after,
                "setup_s": round(elapsed, 3),
            }
        )
    )


def read_request_file(path):
    with open(path) as f:
        text = f.read()
    head, body = text.split("\n\n", 1)
    headers = [tuple(x.split(": ", 1)) for x in head.splitlines() if x]
    return headers, body


class RawConn:
    """One keep-alive HTTP/1.1 connection sending one fixed request; minimal client
    overhead so that the differences between paths are the paths'."""

    def __init__(self, host, port, reqfile):
        headers, body = read_request_file(reqfile)
        b = body.encode()
        lines = ["POST / HTTP/1.1"] + ["%s: %s" % kv for kv in headers]
        lines.append("Content-Length: %d" % len(b))
        self.req = ("\r\n".join(lines) + "\r\n\r\n").encode() + b
        self.addr = (host, port)
        self.sock = None
        self.buf = b""

    def connect(self):
        self.sock = socket.create_connection(self.addr, timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise OSError("connection closed")
        self.buf += d

    def roundtrip(self):
        """Sends the request, returns (status, ns)."""
        if self.sock is None:
            self.connect()
        t0 = time.perf_counter_ns()
        self.sock.sendall(self.req)
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        hdr = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(b":")
            hdr[k.strip().lower()] = v.strip()
        if b"content-length" in hdr:
            n = int(hdr[b"content-length"])
            self.buf = rest
            while len(self.buf) < n:
                self._fill()
            self.buf = self.buf[n:]
        elif hdr.get(b"transfer-encoding", b"").lower() == b"chunked":
            self.buf = rest
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                n = int(size_line.split(b";")[0], 16)
                while len(self.buf) < n + 2:
                    self._fill()
                self.buf = self.buf[n + 2 :]
                if n == 0:
                    break
        else:
            raise OSError("response without length")
        t1 = time.perf_counter_ns()
        if hdr.get(b"connection", b"").lower() == b"close":
            self.sock.close()
            self.sock = None
        return status, t1 - t0


def cmd_paced(out, rate, seconds, specs):
    import random

    conns = {}
    for spec in specs:
        name, rest = spec.split("=", 1)
        host, port, reqfile = rest.split(":", 2)
        conns[name] = RawConn(host, int(port), reqfile)
    lat = {k: [] for k in conns}
    bad = {k: 0 for k in conns}
    first_bad = {}
    # Warm-up: a few requests on each path, not recorded.
    for c in conns.values():
        for _ in range(20):
            c.roundtrip()
    # Scheduler statistics of the server processes (BENCH_PACED_PIDS="name=PID,..."):
    # CPU time and time spent runnable but waiting for a CPU, summed over their threads.
    watch = {}
    for kv in filter(None, os.environ.get("BENCH_PACED_PIDS", "").split(",")):
        k, v = kv.split("=")
        watch[k] = int(v)
    sched0 = {k: schedstat(p) for k, p in watch.items()}
    names = list(conns)
    rnd = random.Random(1)
    period = 1.0 / rate
    t_start = time.perf_counter()
    next_t = t_start
    late = 0
    while True:
        now = time.perf_counter()
        if now - t_start >= seconds:
            break
        if now < next_t:
            time.sleep(next_t - now)
        elif now - next_t > period:
            late += 1
        next_t += period
        rnd.shuffle(names)
        for k in names:
            st, ns = conns[k].roundtrip()
            if st != 200:
                bad[k] += 1
                first_bad.setdefault(k, st)
            lat[k].append(ns / 1000.0)
    ticks = len(next(iter(lat.values())))
    sched = {}
    for k, p in watch.items():
        a, b = sched0[k], schedstat(p)
        sched[k] = {"cpu_us_per_tick": round((b[0] - a[0]) / 1000.0 / ticks, 1),
                    "runq_wait_us_per_tick": round((b[1] - a[1]) / 1000.0 / ticks, 1)}
    res = {"rate": rate, "seconds": seconds, "late_ticks": late, "sched": sched, "paths": {}}
    for k, xs in lat.items():
        res["paths"][k] = {
            "n": len(xs),
            "non200": bad[k],
            "first_bad_status": first_bad.get(k),
            "p50_us": round(statistics.median(xs), 1),
            "p90_us": round(pct(xs, 90), 1),
            "p99_us": round(pct(xs, 99), 1),
            "p999_us": round(pct(xs, 99.9), 1),
            "max_us": round(max(xs), 1),
        }
    with open(out, "w") as f:
        f.write(json.dumps(res) + "\n")
    print(json.dumps(res))


def schedstat(pid):
    """(on-CPU ns, run-queue wait ns) summed over the threads of PID and its children."""
    cpu = wait = 0
    for p in with_children(pid):
        try:
            tids = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for t in tids:
            try:
                with open("/proc/%d/task/%s/schedstat" % (p, t)) as f:
                    v = f.read().split()
                cpu += int(v[0])
                wait += int(v[1])
            except (OSError, IndexError, ValueError):
                pass
    return cpu, wait


def mem_kib(pid):
    res = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k = line.split(":")[0]
            if k in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                res[k] = int(line.split()[1])
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k = line.split(":")[0]
                if k in ("Pss", "Pss_Anon", "Pss_File"):
                    res[k] = int(line.split()[1])
    except OSError:
        pass
    return res


def stat_fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    return s[s.rindex(")") + 2 :].split()


def with_children(pid):
    """PID and its direct children (nginx's workers)."""
    pids = [pid]
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                if int(stat_fields(int(e))[1]) == pid:
                    pids.append(int(e))
            except (OSError, IndexError, ValueError):
                pass
    return pids


def cpu_ticks(pid):
    """utime + stime of PID and of its direct children (nginx's workers)."""
    total = 0
    for p in with_children(pid):
        try:
            f = stat_fields(p)
            total += int(f[11]) + int(f[12])
        except (OSError, IndexError, ValueError):
            pass
    return total


def busy_ticks():
    """Busy clock ticks of the whole machine (all CPUs) from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4]  # minus idle and iowait


def cmd_wrk(out, labels, args):
    import resource

    import shutil
    import signal

    hz = os.sysconf("SC_CLK_TCK")
    # perf stat (software counters only: they work in VMs) for CPU time and context
    # switches per request of each process; BENCH_PERF=0 turns it off.
    perfs = {}
    if shutil.which("perf") and os.environ.get("BENCH_PERF", "1") != "0":
        for k, p in labels.items():
            fn = "%s.perf-%s" % (out, k)
            perfs[k] = (subprocess.Popen(
                ["perf", "stat", "-x", ",", "-e", "task-clock,context-switches,cpu-migrations",
                 "-p", ",".join(str(x) for x in with_children(p)), "-o", fn],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), fn)
        time.sleep(0.3)
    before = {k: cpu_ticks(p) for k, p in labels.items()}
    switches0 = {k: thread_switches(p) for k, p in labels.items()}
    busy0 = busy_ticks()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(out, "w") as f:
        rc = subprocess.call(args, stdout=f, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = {k: round((cpu_ticks(p) - before[k]) / hz / wall * 100.0, 1) for k, p in labels.items()}
    cpu["wrk"] = round(((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) / wall * 100.0, 1)
    total = (busy_ticks() - busy0) / hz / wall * 100.0
    # Everything else on the machine (other users' jobs, kernel threads) in the same window.
    cpu["other"] = round(max(0.0, total - sum(cpu.values())), 1)
    perf = {}
    for k, (pp, fn) in perfs.items():
        pp.send_signal(signal.SIGINT)
        try:
            pp.wait(10)
        except subprocess.TimeoutExpired:
            pp.kill()
            pp.wait()
        try:
            with open(fn) as f:
                for line in f:
                    v = line.strip().split(",")
                    if len(v) > 2 and v[0] and v[2] in ("task-clock", "context-switches", "cpu-migrations"):
                        try:
                            perf.setdefault(k, {})[v[2]] = float(v[0])
                        except ValueError:
                            pass
        except OSError:
            pass
    # Context switches per thread name, voluntary (the thread slept) and not (preempted).
    threads = {}
    for k, p in labels.items():
        now = thread_switches(p)
        for name, (vol, inv) in now.items():
            v0, i0 = switches0[k].get(name, (0, 0))
            threads.setdefault(k, {})[name] = [vol - v0, inv - i0]
    with open(out, "a") as f:
        f.write("CPUJSON %s\n" % json.dumps({"wall_s": round(wall, 2), "cpu_pct": cpu, "perf": perf,
                                             "threads": threads}))
    return rc


def thread_switches(pid):
    """{thread name: (voluntary, involuntary context switches)} of PID's threads, summed
    over threads of the same name."""
    res = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return res
    for tid in tids:
        name, vol, inv = "?", 0, 0
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("Name:"):
                        name = line.split(None, 1)[1].strip()
                    elif line.startswith("voluntary_ctxt_switches:"):
                        vol = int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        inv = int(line.split()[1])
        except OSError:
            continue
        v, i = res.get(name, (0, 0))
        res[name] = (v + vol, i + inv)
    return res


# ---------------------------------------------------------------------------------------
# gathering the raw files


def tagged(path, tag):
    """The JSON objects on lines starting with TAG in PATH."""
    res = []
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(tag + " "):
                    res.append(json.loads(line[len(tag) + 1 :]))
    except OSError:
        pass
    return res


def load_json(path):
    try:
        with open(path) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None


def load_json_file(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def median(xs):
    return statistics.median(xs) if xs else None


def collect_runs(outdir, prefix):
    """{path: merged figures} from OUTDIR/PREFIX-PATH-rN.txt over all rounds (medians)."""
    import glob

    res = {}
    for fn in sorted(glob.glob(os.path.join(outdir, prefix + "-*-r*.txt"))):
        name = os.path.basename(fn)[len(prefix) + 1 :].rsplit("-r", 1)[0]
        b = tagged(fn, "BENCHJSON")
        c = tagged(fn, "CPUJSON")
        entry = res.setdefault(name, {"rounds": []})
        rnd = b[-1] if b else {"error": "no wrk result"}
        if c:
            rnd["cpu_pct"] = c[-1]["cpu_pct"]
            # Per request: CPU microseconds and context switches of each process.
            if rnd.get("requests"):
                rnd["per_request"] = {
                    k: {
                        "cpu_us": round(v.get("task-clock", 0) * 1000.0 / rnd["requests"], 1),
                        "ctx_switches": round(v.get("context-switches", 0) / rnd["requests"], 2),
                    }
                    for k, v in (c[-1].get("perf") or {}).items()
                }
        entry["rounds"].append(rnd)
    for name, e in res.items():
        good = [x for x in e["rounds"] if "requests" in x]
        e["valid"] = bool(good) and len(good) == len(e["rounds"]) and all(
            x["non200"] == 0 and x["socket_errors"] == 0 and x["requests"] > 0 for x in good
        )
        e["first_error"] = next((x["first_error"] for x in good if x.get("first_error")), "")
        for k in ("p50_us", "p90_us", "p99_us", "rps", "requests"):
            e[k] = median([x[k] for x in good])
        cpus, per = {}, {}
        for x in good:
            for k, v in (x.get("cpu_pct") or {}).items():
                cpus.setdefault(k, []).append(v)
            for k, v in (x.get("per_request") or {}).items():
                for kk, vv in v.items():
                    per.setdefault(k, {}).setdefault(kk, []).append(vv)
        e["cpu"] = {k: median(v) for k, v in cpus.items()}
        e["per_request"] = {k: {kk: median(vv) for kk, vv in v.items()} for k, v in per.items()}
    return res


def collect_paced(outdir):
    import glob

    rounds = [load_json(fn) for fn in sorted(glob.glob(os.path.join(outdir, "paced-r*.json")))]
    rounds = [r for r in rounds if r]
    if not rounds:
        return None
    res = {}
    for name in rounds[0]["paths"]:
        xs = [r["paths"][name] for r in rounds if name in r["paths"]]
        res[name] = {k: median([x[k] for x in xs]) for k in ("p50_us", "p90_us", "p99_us", "p999_us")}
        res[name]["n"] = sum(x["n"] for x in xs)
        res[name]["non200"] = sum(x["non200"] for x in xs)
        res[name]["valid"] = res[name]["non200"] == 0
    sched = {}
    for r in rounds:
        for k, v in (r.get("sched") or {}).items():
            for kk, vv in v.items():
                sched.setdefault(k, {}).setdefault(kk, []).append(vv)
    sched = {k: {kk: median(vv) for kk, vv in v.items()} for k, v in sched.items()}
    return {"rate": rounds[0]["rate"], "rounds": len(rounds), "paths": res, "sched": sched}


def collect(outdir):
    r = {"latency": collect_runs(outdir, "lat"), "throughput": collect_runs(outdir, "thr"),
         "paced": collect_paced(outdir)}
    fs = load_json(os.path.join(outdir, "fsync.json"))
    if fs:
        # The budget uses the larger of the two medians: SQLite's WAL both appends and
        # rewrites frames, and the target should not be made tighter than the disk.
        fs["budget_us"] = max(fs["overwrite_p50_us"], fs["append_p50_us"])
        r["fsync"] = fs
    # Audit: every request the gateway answered during the wrk runs adds 2 records; a run
    # ends with up to C requests in flight (sent and audited, not counted by wrk).
    try:
        delta = exp_min = exp_max = 0
        with open(os.path.join(outdir, "audit-counts.txt")) as f:
            for line in f:
                fn, before, after, conns = line.split()
                b = tagged(os.path.join(outdir, fn), "BENCHJSON")
                reqs = b[-1]["requests"] if b else 0
                delta += int(after) - int(before)
                exp_min += 2 * reqs
                exp_max += 2 * (reqs + int(conns))
        r["audit"] = {"delta": delta, "expected_min": exp_min, "expected_max": exp_max}
    except OSError:
        pass
    try:
        with open(os.path.join(outdir, "audit-kinds.txt")) as f:
            r.setdefault("audit", {})["kinds"] = dict(
                (l.split("|")[0], int(l.split("|")[1])) for l in f if "|" in l)
    except (OSError, ValueError):
        pass
    mem = {}
    for k in ("idle", "after"):
        j = load_json(os.path.join(outdir, "mem-%s.json" % k))
        if j:
            mem[k] = j
    for k in ("fresh", "loaded"):
        j = load_json(os.path.join(outdir, "conns-%s.json" % k))
        if j:
            mem["conns_" + k] = j
    if mem:
        r["memory"] = mem
    st = {}
    for k in ("fresh", "populated"):
        j = load_json(os.path.join(outdir, "startup-%s.json" % k))
        if j:
            st[k] = j
    if st:
        r["startup"] = st
    micro = []
    for k in ("sigv4_bench", "audit_bench"):
        try:
            with open(os.path.join(outdir, k + ".txt")) as f:
                micro += [l.strip() for l in f if l.strip()]
        except OSError:
            pass
    if micro:
        r["micro"] = micro
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(r, f, indent=1)
    return r


# ---------------------------------------------------------------------------------------
# summary


def fmt(v, nd=0):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        v = round(v, nd) if nd else int(round(v))
    return str(v)


def verdict(ok):
    if ok is None:
        return ""
    return "PASS" if ok else "MISS"


def mib(kib):
    return "%.1f MiB" % (kib / 1024.0)


def cmd_summary(outdir):
    import re

    r = collect(outdir)
    rows = []

    def add(name, value, target="", ok=None):
        rows.append((name, value, target, verdict(ok)))

    lat, thr, fs, pc = r.get("latency", {}), r.get("throughput", {}), r.get("fsync", {}), r.get("paced")
    d, n1, g = lat.get("direct"), lat.get("nginx"), lat.get("breakglass")
    fsync_us = fs.get("budget_us")
    if fsync_us is not None:
        add("fdatasync p50, 512 B (data dir fs)", "%s us (in place %s, append %s)" % (
            fmt(fsync_us), fmt(fs.get("overwrite_p50_us")), fmt(fs.get("append_p50_us"))))

    def inval(e):
        return "" if e.get("valid") else " INVALID (%s)" % (e.get("first_error") or "errors")[:60]

    for name, e in (("direct", d), ("nginx", n1), ("gateway", g)):
        if e:
            add("wrk c=1 p50 / p99: %s" % name, "%s / %s us (%s req/s)%s" % (
                fmt(e["p50_us"]), fmt(e["p99_us"]), fmt(e["rps"]), inval(e)))
    budget = None
    if d and n1:
        add("wrk c=1 nginx added p50 / p99", "%s / %s us" % (
            fmt(n1["p50_us"] - d["p50_us"]), fmt(n1["p99_us"] - d["p99_us"])))
        if fsync_us is not None:
            budget = (n1["p50_us"] - d["p50_us"]) + 2 * fsync_us + 100
    if d and g:
        added = g["p50_us"] - d["p50_us"]
        add("wrk c=1 gateway added p50", "%s us" % fmt(added),
            "<= %s us (nginx + 2 fsync + 100)" % fmt(budget) if budget is not None else "",
            (added <= budget and g["valid"]) if budget is not None else None)
        add("wrk c=1 gateway added p99", "%s us (difference of two noisy tails)" % fmt(g["p99_us"] - d["p99_us"]),
            "see paced")
    if pc:
        p = pc["paths"]
        for name in ("direct", "nginx", "breakglass"):
            if name in p:
                add("paced p50 / p99: %s" % ("gateway" if name == "breakglass" else name),
                    "%s / %s us (n=%d)%s" % (fmt(p[name]["p50_us"]), fmt(p[name]["p99_us"]), p[name]["n"],
                                             "" if p[name]["valid"] else " INVALID"))
        if "direct" in p and "nginx" in p:
            add("paced nginx added p50 / p99", "%s / %s us" % (
                fmt(p["nginx"]["p50_us"] - p["direct"]["p50_us"]),
                fmt(p["nginx"]["p99_us"] - p["direct"]["p99_us"])))
        if "direct" in p and "breakglass" in p:
            a50 = p["breakglass"]["p50_us"] - p["direct"]["p50_us"]
            a99 = p["breakglass"]["p99_us"] - p["direct"]["p99_us"]
            pbudget = None
            if "nginx" in p and fsync_us is not None:
                pbudget = p["nginx"]["p50_us"] - p["direct"]["p50_us"] + 2 * fsync_us + 100
            add("paced gateway added p50", "%s us" % fmt(a50),
                "<= %s us" % fmt(pbudget) if pbudget is not None else "",
                (a50 <= pbudget and p["breakglass"]["valid"]) if pbudget is not None else None)
            add("paced gateway added p99", "%s us" % fmt(a99), "<= 2000 us",
                a99 <= 2000 and p["breakglass"]["valid"])
        for k, v in (pc.get("sched") or {}).items():
            add("paced, per tick: %s" % k, "%s us on CPU, %s us waiting for a CPU" % (
                fmt(v["cpu_us_per_tick"]), fmt(v["runq_wait_us_per_tick"])))
    for k in ("direct", "nginx_w1", "nginx_auto", "breakglass"):
        if k in thr:
            t = thr[k]
            extra = ""
            if t.get("cpu"):
                extra = "; CPU %% %s" % ", ".join("%s %s" % (a, fmt(b)) for a, b in t["cpu"].items())
            per = ""
            hop = {"nginx_w1": "nginx", "nginx_auto": "nginx", "breakglass": "breakglass"}.get(k)
            if hop and hop in t.get("per_request", {}):
                pr = t["per_request"][hop]
                per = "; %s us CPU, %s ctx sw /req" % (fmt(pr["cpu_us"]), fmt(pr["ctx_switches"], 1))
            add("wrk c=32 req/s: %s" % k, "%s%s%s%s" % (fmt(t["rps"]), inval(t), per, extra))
    if "breakglass" in thr:
        best = max([thr[k]["rps"] for k in ("nginx_w1", "nginx_auto") if k in thr] or [0])
        if best:
            ratio = thr["breakglass"]["rps"] / best
            add("gateway / best nginx req/s", "%s %%" % fmt(ratio * 100), ">= 70 %",
                ratio >= 0.70 and thr["breakglass"]["valid"])
    a = r.get("audit")
    if a and a.get("expected_max"):
        add("request and response records added during gateway runs", "%s (requests x2: %s..%s)" % (
            a["delta"], a["expected_min"], a["expected_max"]), "2 per request",
            a["expected_min"] <= a["delta"] <= a["expected_max"])
    m = r.get("memory") or {}
    if "idle" in m:
        i = m["idle"]
        add("RSS idle", "%s (anon %s, file %s; PSS %s)" % (
            mib(i["VmRSS"]), mib(i.get("RssAnon", 0)), mib(i.get("RssFile", 0)), mib(i.get("Pss", 0))),
            "<= 8 MiB", i["VmRSS"] <= 8 * 1024)
    for k, label in (("conns_fresh", "before load"), ("conns_loaded", "after load")):
        if k in m:
            c = m[k]
            mo = c.get("mem_open", {})
            add("RSS, %d conns open, %s" % (c["n"], label), "%s (anon %s; %s open, %s threads, statuses %s)" % (
                mib(c["rss_open_kib"]), mib(mo.get("RssAnon", 0)), c["open"], c["threads_open"],
                ",".join("%s:%s" % kv for kv in c["statuses"].items())),
                "<= 32 MiB", c["rss_open_kib"] <= 32 * 1024 and c["open"] == c["n"])
    s = r.get("startup") or {}
    for k in ("fresh", "populated"):
        if k in s:
            if s[k].get("median_ms") is not None:
                add("start-up to first 200 (%s store)" % k, "%s ms median of %d" % (
                    fmt(s[k]["median_ms"], nd=1), len(s[k]["runs_ms"])), "<= 100 ms", s[k]["median_ms"] <= 100)
            else:
                add("start-up (%s store)" % k, "failed: %s" % s[k], "<= 100 ms", False)
    for line in r.get("micro") or []:
        mm = re.match(r"sigv4_verify: (\d+)/s \(([^,]*)", line)
        if mm:
            add("SigV4 verify, 1 thread (%s)" % mm.group(2), "%s /s" % mm.group(1), ">= 400000 /s",
                int(mm.group(1)) >= 400000)
            continue
        mm = re.match(r"sigv4_sign: (\d+)/s", line)
        if mm:
            add("SigV4 sign upstream, 1 thread", "%s /s" % mm.group(1))
            continue
        mm = re.match(r"audit verify: (\d+) records in [\d.]+ s = (\d+) rec/s", line)
        if mm:
            add("audit verify (%s records)" % mm.group(1), "%s rec/s" % mm.group(2), ">= 200000 rec/s",
                int(mm.group(2)) >= 200000)
            continue
        mm = re.match(r"(audit_append \d+ threads?(?: with a required sink)?|fdatasync baseline): (.*)",
                      line)
        if mm:
            add(mm.group(1), mm.group(2))

    for row in load_json_file(os.path.join(outdir, "scaling.json")) or []:
        add("scaling c=%d: req/s, p99" % row["conns"], "  ".join(
            "%s %s, %s us" % (t, fmt(row[p]["rps"]), fmt(row[p]["p99_us"]))
            for p, t in (("direct", "direct"), ("nginx_w1", "nginx"), ("breakglass", "gateway"))
            if p in row))

    hdr = ("figure", "value", "target", "verdict")
    w = [max(len(str(x[i])) for x in rows + [hdr]) for i in range(4)]
    line = "| %s | %s | %s | %s |"
    print(line % tuple(h.ljust(w[i]) for i, h in enumerate(hdr)))
    print(line % tuple("-" * w[i] for i in range(4)))
    for row in rows:
        print(line % tuple(str(x).ljust(w[i]) for i, x in enumerate(row)))


SCALE_PATHS = (("direct", "direct"), ("nginx_w1", "nginx (1 worker)"), ("breakglass", "breakglass"))


def cmd_quick(outdir):
    import glob

    for fn in sorted(glob.glob(os.path.join(outdir, "lat-*-r*.txt")) +
                     glob.glob(os.path.join(outdir, "thr-*-r*.txt"))):
        b, c = tagged(fn, "BENCHJSON"), tagged(fn, "CPUJSON")
        if not b:
            print("%s: no result" % os.path.basename(fn))
            continue
        b, line = b[-1], os.path.basename(fn)[:-4]
        line += ": %s req/s, p50 %s us, p99 %s us, non200 %s" % (
            b.get("rps"), b.get("p50_us"), b.get("p99_us"), b.get("non200"))
        if c and b.get("requests"):
            for k, v in (c[-1].get("perf") or {}).items():
                line += "; %s %.1f us CPU, %.2f ctx sw /req" % (
                    k, v.get("task-clock", 0) * 1000.0 / b["requests"],
                    v.get("context-switches", 0) / b["requests"])
            line += "; CPU %% %s" % json.dumps(c[-1].get("cpu_pct"))
            for k, t in (c[-1].get("threads") or {}).items():
                busy = ["%s %.2f+%.2f" % (n, v / b["requests"], i / b["requests"])
                        for n, (v, i) in sorted(t.items()) if v + i > 0]
                if k == "breakglass" and busy:
                    line += "; %s threads (voluntary+involuntary /req): %s" % (k, ", ".join(busy))
        print(line)


def cmd_ab(outdir):
    """Build B (breakglass_b) against build A (breakglass), run by run: the ratios of
    throughput, CPU and context switches per request at c=32 and of p50 at c=1, and their
    medians."""
    import statistics

    def figures(kind, name, rnd):
        fn = os.path.join(outdir, "%s-%s-r%s.txt" % (kind, name, rnd))
        b, c = tagged(fn, "BENCHJSON"), tagged(fn, "CPUJSON")
        if not b or not b[-1].get("requests"):
            return None
        b, perf = b[-1], ((c[-1].get("perf") or {}).get("breakglass") or {}) if c else {}
        n = b["requests"]
        return {"rps": b.get("rps") or 0, "p50": b.get("p50_us") or 0,
                "cpu": perf.get("task-clock", 0) * 1000.0 / n,
                "cs": perf.get("context-switches", 0) / n}

    ratios = {"thr rps": [], "thr CPU/req": [], "thr ctx sw/req": [], "lat p50": []}
    rnd = 1
    while os.path.exists(os.path.join(outdir, "thr-breakglass-r%d.txt" % rnd)):
        ta, tb = figures("thr", "breakglass", rnd), figures("thr", "breakglass_b", rnd)
        la, lb = figures("lat", "breakglass", rnd), figures("lat", "breakglass_b", rnd)
        if ta and tb:
            print("round %d c=32: A %.0f req/s %.1f us CPU %.2f cs/req; B %.0f req/s %.1f us CPU "
                  "%.2f cs/req" % (rnd, ta["rps"], ta["cpu"], ta["cs"], tb["rps"], tb["cpu"], tb["cs"]))
            ratios["thr rps"].append(tb["rps"] / (ta["rps"] or 1))
            ratios["thr CPU/req"].append(tb["cpu"] / (ta["cpu"] or 1))
            ratios["thr ctx sw/req"].append(tb["cs"] / (ta["cs"] or 1))
        if la and lb:
            print("round %d c=1: A p50 %s us; B p50 %s us" % (rnd, la["p50"], lb["p50"]))
            ratios["lat p50"].append(lb["p50"] / (la["p50"] or 1))
        rnd += 1
    for k, v in ratios.items():
        if v:
            print("B / A %s: median %.2f (%s)" % (k, statistics.median(v),
                                                   ", ".join("%.2f" % x for x in v)))


def sinks_rows(outdir, other_name="breakglass_sinks", tag="s"):
    """[(round, plain BENCHJSON, other BENCHJSON)] of side-by-side runs of the plain gateway
    (thr-breakglass-r<tag>N.txt) and another (thr-<other_name>-r<tag>N.txt)."""
    import glob

    rows = []
    for fn in sorted(glob.glob(os.path.join(outdir, "thr-breakglass-r%s*.txt" % tag))):
        rnd = fn.rsplit("-r" + tag, 1)[1][:-4]
        other = os.path.join(outdir, "thr-%s-r%s%s.txt" % (other_name, tag, rnd))
        a, b = tagged(fn, "BENCHJSON"), tagged(other, "BENCHJSON") if os.path.exists(other) else []
        if a and b:
            rows.append((rnd, a[-1], b[-1]))
    return rows


def cmd_sinks(outdir):
    rows = sinks_rows(outdir)
    for rnd, a, b in rows:
        print("round %s: without sinks %s req/s (p99 %s us), with sinks %s req/s (p99 %s us), "
              "ratio %.2f" % (rnd, a.get("rps"), a.get("p99_us"), b.get("rps"), b.get("p99_us"),
                              (b.get("rps") or 0) / (a.get("rps") or 1)))
    if rows:
        ma = statistics.median(a.get("rps") or 0 for _, a, _ in rows)
        mb = statistics.median(b.get("rps") or 0 for _, _, b in rows)
        print("median: without %s req/s, with %s req/s, ratio %.2f" % (ma, mb, mb / (ma or 1)))


def cmd_guardrails(outdir):
    rows = sinks_rows(outdir, "breakglass_guarded", "g")
    for rnd, a, b in rows:
        print("round %s: table grant %s req/s (p99 %s us), runbook grant with masking, budget "
              "and rate %s req/s (p99 %s us, non-200 %s), ratio %.2f"
              % (rnd, a.get("rps"), a.get("p99_us"), b.get("rps"), b.get("p99_us"),
                 b.get("non200"), (b.get("rps") or 0) / (a.get("rps") or 1)))
    if rows:
        ma = statistics.median(a.get("rps") or 0 for _, a, _ in rows)
        mb = statistics.median(b.get("rps") or 0 for _, _, b in rows)
        print("median: table grant %s req/s, guarded runbook grant %s req/s, ratio %.2f"
              % (ma, mb, mb / (ma or 1)))


def cmd_scaling(outdir):
    """Throughput and p99 at each connection count on each path (OUTDIR/scale-PATH-cN-r1.txt):
    scaling.json, scaling.dat (one row per connection count) and scaling.gp, the gnuplot
    script that draws scaling.png from them."""
    runs = collect_runs(outdir, "scale")
    conns = sorted({int(k.rsplit("-c", 1)[1]) for k in runs})
    table = []
    for c in conns:
        row = {"conns": c}
        for p, _ in SCALE_PATHS:
            e = runs.get("%s-c%d" % (p, c))
            if e and e.get("rps") is not None:
                row[p] = {"rps": e["rps"], "p99_us": e["p99_us"], "valid": e["valid"],
                          "per_request": e.get("per_request", {})}
        table.append(row)
    with open(os.path.join(outdir, "scaling.json"), "w") as f:
        json.dump(table, f, indent=1)
    with open(os.path.join(outdir, "scaling.dat"), "w") as f:
        f.write("# conns " + " ".join("%s_rps %s_p99_ms" % (p, p) for p, _ in SCALE_PATHS) + "\n")
        for row in table:
            cols = [str(row["conns"])]
            for p, _ in SCALE_PATHS:
                v = row.get(p)
                cols += [str(v["rps"]), "%.3f" % (v["p99_us"] / 1000.0)] if v else ["NaN", "NaN"]
            f.write(" ".join(cols) + "\n")
    plots_rps = ", ".join('"scaling.dat" using 1:%d with linespoints title "%s"' % (2 + 2 * i, t)
                          for i, (_, t) in enumerate(SCALE_PATHS))
    plots_p99 = ", ".join('"scaling.dat" using 1:%d with linespoints title "%s"' % (3 + 2 * i, t)
                          for i, (_, t) in enumerate(SCALE_PATHS))
    with open(os.path.join(outdir, "scaling.gp"), "w") as f:
        f.write("\n".join([
            'set terminal pngcairo size 1000,420 font "sans,10"',
            'set output "scaling.png"',
            "set multiplot layout 1,2 title \"one signed Query, wrk, dynalite upstream, %d vCPUs\"" % (
                os.cpu_count() or 0),
            "set logscale x 2", "set xlabel \"connections\"", "set grid", "set key top left",
            "set ylabel \"requests/s\"", "set yrange [0:*]", "plot " + plots_rps,
            "set logscale y", "set ylabel \"p99 latency (ms, log)\"", "set yrange [*:*]",
            "set key top left", "plot " + plots_p99, "unset multiplot", ""]))
    for row in table:
        print("c=%-4d %s" % (row["conns"], "  ".join(
            "%s %s req/s p99 %s us" % (p, fmt(row[p]["rps"]), fmt(row[p]["p99_us"]))
            for p, _ in SCALE_PATHS if p in row)))


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    c = argv[1]
    if c == "freeport":
        print(freeport())
    elif c == "sign":
        cmd_sign(argv[2], argv[3])
    elif c == "fsync":
        cmd_fsync(argv[2], int(argv[3]) if len(argv) > 3 else 1000)
    elif c == "startup":
        return cmd_startup(int(argv[2]), argv[3], argv[argv.index("--") + 1 :])
    elif c == "conns":
        cmd_conns(argv[2], int(argv[3]), int(argv[4]))
    elif c == "rss":
        print(rss_kib(int(argv[2])))
    elif c == "mem":
        print(json.dumps(mem_kib(int(argv[2]))))
    elif c == "paced":
        cmd_paced(argv[2], float(argv[3]), float(argv[4]), argv[5:])
    elif c == "wrk":
        sep = argv.index("--")
        labels = {a.split("=")[0]: int(a.split("=")[1]) for a in argv[3:sep]}
        return cmd_wrk(argv[2], labels, argv[sep + 1 :])
    elif c == "summary":
        cmd_summary(argv[2])
    elif c == "scaling":
        cmd_scaling(argv[2])
    elif c == "quick":
        cmd_quick(argv[2])
    elif c == "ab":
        cmd_ab(argv[2])
    elif c == "sinks":
        cmd_sinks(argv[2])
    elif c == "guardrails":
        cmd_guardrails(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
