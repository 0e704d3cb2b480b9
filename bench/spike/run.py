#!/usr/bin/python3
"""run.py - the transport spike's measurements (called by run.sh; see bench/SPIKE.md).

Starts the four spike servers (build/spike/srv_*) on free loopback ports, then:
  1. resident memory of each, idle (just started) and holding HOLD keep-alive connections
     (each has answered one request, then sits idle);
  2. ROUNDS rounds; in each, every server in turn (the order rotates per round) gets a
     1 s warm-up, then `wrk -t1 -cCONNS -dDUR`, `wrk -t1 -c1 -dDUR` and a c1 run with the
     server and wrk pinned to CPU 0 (--pinned-duration), all with spike.lua;
     for each run: req/s, p50/p99, the server's CPU time per request (utime+stime from
     /proc/PID/stat) and its context switches per request (voluntary + involuntary,
     summed over /proc/PID/task/*/status), and the CPU used by everything else on the
     machine (/proc/stat busy time minus the server's and wrk's own);
  3. system calls per request (perf stat, one extra c32 run per server, when perf exists);
  4. hostile-input properties, with raw bytes on a socket.
A run starts once the machine is quiet (--quiet-pct) and is repeated (--attempts) when other
processes used more than --other-max cores during it. Prints the tables (median of the clean
rounds, with min-max) and writes results.json to OUT.
"""
import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BIN = os.path.join(ROOT, "build", "spike")
NAMES = ["own", "mhd", "libevent", "h2o"]
LABEL = {
    "own": "own (epoll + http-parser)",
    "mhd": "libmicrohttpd 0.9.75 epoll pool",
    "libevent": "libevent 2.1 evhttp",
    "h2o": "h2o 2.2 libh2o-evloop",
}
TICK = os.sysconf("SC_CLK_TCK")
REQ_BODY = b'{"TableName":"Orders","Key":{"pk":{"S":"customer#1"},"sk":{"S":"order#0001"}}}'


def log(msg):
    print("[spike %5.1fs] %s" % (time.monotonic() - T0, msg), file=sys.stderr, flush=True)


T0 = time.monotonic()
ARGS = None

# --- /proc --------------------------------------------------------------------------------


def proc_cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])  # utime, stime (fields 14 and 15)


def proc_ctx(pid):
    vol = inv = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        inv += int(line.split()[1])
        except FileNotFoundError:
            pass
    return vol, inv


def proc_task_ticks(pid):
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                rest = f.read().rsplit(")", 1)[1].split()
            out[tid] = int(rest[11]) + int(rest[12])
        except FileNotFoundError:
            pass
    return out


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def proc_threads(pid):
    return len(os.listdir("/proc/%d/task" % pid))


def sys_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = v
    return user + nice + system + irq + softirq + steal, sum(v)


def wait_quiet(limit_pct, max_wait):
    """Waits (1 s samples) until the machine is less than limit_pct busy; returns the
    seconds waited and the last sample."""
    t = time.monotonic()
    while True:
        b = background_load(1.0)
        if b < limit_pct or time.monotonic() - t > max_wait:
            return time.monotonic() - t, b
        log("waiting for a quieter machine: %.0f %% busy" % b)


def background_load(seconds=2.0):
    b0, t0 = sys_busy()
    time.sleep(seconds)
    b1, t1 = sys_busy()
    return 100.0 * (b1 - b0) / max(1, t1 - t0)


def top_snapshot():
    out = subprocess.run(["top", "-b", "-n2", "-d", "0.5", "-w", "150"], capture_output=True,
                         text=True).stdout
    frames = out.split("top - ")
    lines = frames[-1].splitlines()
    return [l for l in lines[6:12] if l.strip()]


# --- servers ------------------------------------------------------------------------------


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    def __init__(self, name):
        self.name = name
        self.port = free_port()
        self.proc = subprocess.Popen([os.path.join(BIN, "srv_" + name), str(self.port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("ready"):
            raise SystemExit("srv_%s did not start" % name)
        self.pid = self.proc.pid

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- wrk ----------------------------------------------------------------------------------


def wrk(port, conns, dur, cpu=None):
    cmd = (["taskset", "-c", str(cpu)] if cpu is not None else []) + ["wrk", "-t1", "-c%d" % conns, "-d%ds" % dur, "-s", os.path.join(HERE, "spike.lua"),
           "http://127.0.0.1:%d/" % port]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.read().decode()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    res = None
    for line in out.splitlines():
        if line.startswith("SPIKEJSON "):
            res = json.loads(line[len("SPIKEJSON "):])
    if res is None:
        raise SystemExit("wrk gave no result:\n" + out)
    res["wrk_cpu_s"] = ru.ru_utime + ru.ru_stime
    return res


def pin(pid, cpus):
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass


def measure(srv, conns, dur, cpu=None):
    """One measured wrk run. cpu: pin the server's threads and wrk to this one CPU for the
    run (then unpin), so every wake-up is a switch on one CPU, not a cross-CPU wake-up."""
    if cpu is not None:
        pin(srv.pid, {cpu})
        wrk(srv.port, conns, 1, cpu)  # warm-up on the pinned CPU
    k0 = proc_task_ticks(srv.pid)
    c0, x0, (b0, t0) = proc_cpu_ticks(srv.pid), proc_ctx(srv.pid), sys_busy()
    w0 = time.monotonic()
    r = wrk(srv.port, conns, dur, cpu)
    wall = time.monotonic() - w0
    c1, x1, (b1, t1) = proc_cpu_ticks(srv.pid), proc_ctx(srv.pid), sys_busy()
    k1 = proc_task_ticks(srv.pid)
    if cpu is not None:
        pin(srv.pid, set(range(os.cpu_count())))
    split = sorted((k1[t] - k0.get(t, 0) for t in k1), reverse=True)
    n = max(1, r["requests"])
    srv_s = (c1 - c0) / TICK
    busy_s = (b1 - b0) / TICK
    ncpu = os.cpu_count()
    r.update({
        "conns": conns,
        "mode": "c%d" % conns + ("-pinned" if cpu is not None else ""),
        "srv_cpu_s": srv_s,
        "cpu_us_per_req": srv_s * 1e6 / n,
        "vcs_per_req": (x1[0] - x0[0]) / n,
        "ivcs_per_req": (x1[1] - x0[1]) / n,
        "cs_per_req": (x1[0] - x0[0] + x1[1] - x0[1]) / n,
        "srv_cores": srv_s / wall,
        "wrk_cores": r["wrk_cpu_s"] / wall,
        # everything outside the server and wrk, as cores (the machine has ncpu)
        "other_cores": max(0.0, busy_s - srv_s - r["wrk_cpu_s"]) / wall,
        "machine_busy_pct": 100.0 * (b1 - b0) / max(1, t1 - t0),
        "ncpu": ncpu,
        # CPU ticks of each thread, busiest first: how the connections fell on the loops
        "thread_ticks": split,
        "busiest_thread_pct": 100.0 * split[0] / max(1, sum(split)),
    })
    if r["non200"] or r["socket_errors"]:
        r["invalid"] = True
    return r


def syscalls(srv, conns, dur):
    """System calls the server makes per request (perf stat on tracepoints, one wrk run)."""
    ev = ["raw_syscalls:sys_enter", "syscalls:sys_enter_epoll_wait",
          "syscalls:sys_enter_epoll_ctl"]
    out = os.path.join(ARGS.out, "perf-%s.txt" % srv.name)
    cmd = ["perf", "stat", "-x,", "-o", out, "-e", ",".join(ev), "-p", str(srv.pid), "--",
           "wrk", "-t1", "-c%d" % conns, "-d%ds" % dur, "-s", os.path.join(HERE, "spike.lua"),
           "http://127.0.0.1:%d/" % srv.port]
    r = subprocess.run(cmd, capture_output=True, text=True)
    n = None
    for line in r.stdout.splitlines():
        if line.startswith("SPIKEJSON "):
            n = json.loads(line[len("SPIKEJSON "):])["requests"]
    counts = {}
    with open(out) as f:
        for line in f:
            parts = line.strip().split(",")
            if len(parts) > 2 and parts[0].isdigit():
                counts[parts[2]] = int(parts[0])
    if not n or len(counts) != len(ev):
        return None
    return {"all": counts[ev[0]] / n, "epoll_wait": counts[ev[1]] / n,
            "epoll_ctl": counts[ev[2]] / n, "requests": n}


# --- raw sockets --------------------------------------------------------------------------


def request_bytes(extra_headers=b"", body=REQ_BODY, cl=True):
    h = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
         b"X-Amz-Target: DynamoDB_20120810.GetItem\r\n")
    if cl:
        h += b"Content-Length: %d\r\n" % len(body)
    return h + extra_headers + b"\r\n" + body


def read_response(s, timeout, hdrs=None):
    """Reads one response. Returns (status or None, body, note); fills hdrs (lower-case
    names) when given."""
    s.settimeout(timeout)
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                return None, b"", "closed without an answer" if not buf else "closed mid-answer"
            buf += d
        head, body = buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        cl = 0
        for l in lines[1:]:
            k, _, v = l.partition(b":")
            if k.strip().lower() == b"content-length":
                cl = int(v.strip())
            if hdrs is not None:
                hdrs[k.strip().lower().decode()] = v.strip().decode()
        while len(body) < cl:
            d = s.recv(65536)
            if not d:
                break
            body += d
        return status, body[:cl], ""
    except socket.timeout:
        return None, b"", "no answer within %.0f s" % timeout
    except ConnectionResetError:
        return None, b"", "connection reset"


def after_state(s):
    """After an answer: did the server close the connection?"""
    s.settimeout(0.3)
    try:
        d = s.recv(1)
        return "closed" if d == b"" else "more bytes"
    except socket.timeout:
        return "kept open"
    except ConnectionResetError:
        return "reset"


def hold(srv, n):
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(request_bytes())
            st, _, note = read_response(s, 5)
            if st != 200:
                raise RuntimeError("hold: %s answered %s %s" % (srv.name, st, note))
            socks.append(s)
        time.sleep(1.0)
        return proc_rss_kib(srv.pid), len(socks)
    finally:
        for s in socks:
            s.close()


def prop_case(srv, data, timeout=2.0):
    """Sends data; reads the answer; says whether the connection stayed open and, for a 200,
    how many body bytes the library handed the app (X-Spike-Body-Length)."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    t = time.monotonic()
    s.sendall(data)
    hdrs = {}
    st, body, note = read_response(s, timeout, hdrs)
    ms = (time.monotonic() - t) * 1000
    state = after_state(s) if st is not None else ""
    s.close()
    return {"status": st, "ms": round(ms, 1), "note": note, "after": state,
            "by_app": b'"by":"app"' in body,
            "body_len": int(hdrs["x-spike-body-length"]) if st == 200 and
            "x-spike-body-length" in hdrs else None}


def props(srv):
    res = {}
    res["dup_cl"] = prop_case(srv, request_bytes(
        b"Content-Length: 5\r\nContent-Length: 6\r\n", body=b"hello!", cl=False))
    res["te_list_cl"] = prop_case(srv, request_bytes(
        b"Transfer-Encoding: chunked, identity\r\nContent-Length: 5\r\n", body=b"hello",
        cl=False))
    # A chunked body of 5 bytes in 15 bytes of framing, with Content-Length 7: the app's
    # body length says which framing the library followed.
    chunked = b"5\r\nhello\r\n0\r\n\r\n"
    res["te_cl"] = prop_case(srv, request_bytes(
        b"Transfer-Encoding: chunked\r\nContent-Length: 7\r\n", body=chunked, cl=False))
    res["big_cl"] = prop_case(srv, request_bytes(b"Content-Length: 16000000\r\n", body=b"",
                                                 cl=False))
    # Async: A is parked for 50 ms by the app; B..E, sent meanwhile on other connections,
    # must be answered before A.
    a = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    others = [socket.create_connection(("127.0.0.1", srv.port), timeout=5) for _ in range(4)]
    t = time.monotonic()
    a.sendall(request_bytes(b"X-Spike-Async: 1\r\n"))
    time.sleep(0.005)
    worst = 0.0
    ok = True
    for o in others:
        o.sendall(request_bytes())
        st, _, _ = read_response(o, 2)
        ok = ok and st == 200
        worst = max(worst, (time.monotonic() - t) * 1000)
    st, _, note = read_response(a, 2)
    a_ms = (time.monotonic() - t) * 1000
    res["async"] = {"status": st, "parked_ms": round(a_ms, 1), "others_ms": round(worst, 1),
                    "others_ok": ok, "note": note}
    for s in [a] + others:
        s.close()
    return res


# --- main ---------------------------------------------------------------------------------


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--hold", type=int, default=1024)
    ap.add_argument("--out", default=os.path.join(BIN, "out"))
    ap.add_argument("--servers", default=",".join(NAMES))
    ap.add_argument("--quiet-pct", type=float, default=10.0,
                    help="start a run only when the machine is less busy than this (%%)")
    ap.add_argument("--max-wait", type=float, default=120.0, help="s to wait for quiet")
    ap.add_argument("--other-max", type=float, default=0.15,
                    help="repeat a run whose other processes used more cores than this")
    ap.add_argument("--attempts", type=int, default=5)
    ap.add_argument("--pinned-duration", type=int, default=5,
                    help="s of an extra c1 run with server and wrk on CPU 0 (0: none)")
    ap.add_argument("--perf", type=int, default=1 if shutil.which("perf") else 0,
                    help="1: count system calls per request with perf stat (root)")
    a = ap.parse_args()
    global ARGS
    ARGS = a
    names = a.servers.split(",")
    os.makedirs(a.out, exist_ok=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 16384)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    results = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "args": vars(a)}
    results["background_busy_pct"] = background_load()
    results["top_before"] = top_snapshot()
    log("background: %.1f %% of the machine busy before start" % results["background_busy_pct"])
    for l in results["top_before"]:
        log("  top: " + l)

    srvs = {}
    try:
        for n in names:
            srvs[n] = Server(n)
        time.sleep(0.5)
        results["rss_idle_kib"] = {n: proc_rss_kib(s.pid) for n, s in srvs.items()}
        results["threads"] = {n: proc_threads(s.pid) for n, s in srvs.items()}
        results["rss_hold_kib"] = {}
        for n, s in srvs.items():
            rss, held = hold(s, a.hold)
            results["rss_hold_kib"][n] = rss
            log("%-9s RSS idle %6d KiB, with %d idle keep-alive connections %6d KiB" %
                (n, results["rss_idle_kib"][n], held, rss))
            time.sleep(0.5)

        runs, retried = [], []
        # (connections, CPU to pin server and wrk to or None, seconds)
        modes = [(a.conns, None, a.duration), (1, None, a.duration)]
        if a.pinned_duration > 0:
            modes.append((1, 0, a.pinned_duration))
        for r in range(a.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for n in order:
                s = srvs[n]
                for conns, cpu, dur in modes:
                    for attempt in range(1, a.attempts + 1):
                        waited, quiet = wait_quiet(a.quiet_pct, a.max_wait)
                        wrk(s.port, conns, 1)  # warm-up, not counted
                        m = measure(s, conns, dur, cpu)
                        m.update({"server": n, "round": r + 1, "attempt": attempt,
                                  "waited_s": round(waited, 1), "busy_before_pct": quiet})
                        noisy = m["other_cores"] > a.other_max
                        m["noisy"] = noisy
                        if noisy and attempt < a.attempts:
                            log("round %d %-9s %-9s repeated: other processes used %.2f cores"
                                % (r + 1, n, m["mode"], m["other_cores"]))
                            retried.append(m)
                            continue
                        break
                    runs.append(m)
                    log("round %d %-9s %-9s %8.0f req/s p50 %5d us p99 %6d us  %5.1f us/req  "
                        "cs/req %.3f (vol %.3f)  srv %.2f wrk %.2f other %.2f cores  "
                        "threads %s%s" %
                        (r + 1, n, m["mode"], m["rps"], m["p50_us"], m["p99_us"],
                         m["cpu_us_per_req"], m["cs_per_req"], m["vcs_per_req"],
                         m["srv_cores"], m["wrk_cores"], m["other_cores"],
                         "/".join(str(x) for x in m["thread_ticks"] if x),
                         "  INVALID" if m.get("invalid") else ""))
        results["runs"] = runs
        results["repeated_runs"] = retried
        results["syscalls"] = {}
        if a.perf and a.rounds > 0:
            for n, s in srvs.items():
                wait_quiet(a.quiet_pct, a.max_wait)
                results["syscalls"][n] = sc = syscalls(s, a.conns, 4)
                if sc:
                    log("%-9s c%d syscalls/req %.2f (epoll_wait %.3f, epoll_ctl %.2f)" %
                        (n, a.conns, sc["all"], sc["epoll_wait"], sc["epoll_ctl"]))
        results["props"] = {}
        for n, s in srvs.items():
            results["props"][n] = props(s)
            log("%-9s props %s" % (n, json.dumps(results["props"][n])))
    finally:
        for s in srvs.values():
            s.stop()

    results["top_after"] = top_snapshot()
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)

    # Tables: median (min-max) of the rounds whose other load stayed under --other-max;
    # "n/m": n such rounds of m (when none stayed under it, all m rounds are used).
    def pick(n, mode):
        every = [m for m in runs if m["server"] == n and m["mode"] == mode]
        clean = [m for m in every if not m["noisy"]]
        return (clean or every), len(clean), len(every)

    def rng(rs, key, f="%.0f"):
        xs = [m[key] for m in rs]
        if not xs:
            return "-"
        if len(xs) == 1:
            return f % xs[0]
        return (f + " (" + f + "–" + f + ")") % (med(xs), min(xs), max(xs))

    modes_seen = []
    for m in runs:
        if m["mode"] not in modes_seen:
            modes_seen.append(m["mode"])
    for mode in modes_seen:
        print()
        print("%s:" % mode)
        print()
        print("| candidate | rounds | req/s | p50 µs | p99 µs | CPU µs/req | cs/req "
              "(vol + invol) | other cores |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n in names:
            rs, nc, ne = pick(n, mode)
            print("| %s | %d/%d | %s | %s | %s | %s | %s (%s + %s) | %s |" % (
                LABEL[n], nc, ne, rng(rs, "rps"), rng(rs, "p50_us"), rng(rs, "p99_us"),
                rng(rs, "cpu_us_per_req", "%.1f"), "%.3f" % med([m["cs_per_req"] for m in rs]),
                "%.3f" % med([m["vcs_per_req"] for m in rs]),
                "%.3f" % med([m["ivcs_per_req"] for m in rs]),
                "%.2f" % max([m["other_cores"] for m in rs])))
    print()
    print("| candidate | RSS idle | RSS with %d idle keep-alive connections | threads |" % a.hold)
    print("| --- | ---: | ---: | ---: |")
    for n in names:
        print("| %s | %.1f MiB | %.1f MiB | %d |" % (
            LABEL[n], results["rss_idle_kib"][n] / 1024, results["rss_hold_kib"][n] / 1024,
            results["threads"][n]))
    print()
    print("| candidate | c32 syscalls/req | epoll_ctl/req | epoll_wait/req | c32 busiest thread's "
          "share of the server CPU, per round |")
    print("| --- | ---: | ---: | ---: | --- |")
    for n in names:
        sc = results.get("syscalls", {}).get(n)
        rs = [m for m in runs if m["server"] == n and m["mode"] == "c%d" % a.conns]
        print("| %s | %s | %s | %s | %s |" % (
            LABEL[n], "%.2f" % sc["all"] if sc else "-", "%.2f" % sc["epoll_ctl"] if sc else "-",
            "%.3f" % sc["epoll_wait"] if sc else "-",
            ", ".join("%.0f %%" % m["busiest_thread_pct"] for m in rs)))
    print()
    oc = [m["other_cores"] for m in runs] or [float("nan")]
    print("other CPU during the wrk runs (outside server and wrk): median %.2f, max %.2f cores "
          "of %d; background before start %.1f %% of the machine" %
          (med(oc), max(oc), os.cpu_count(), results["background_busy_pct"]))
    bad = [m for m in runs if m.get("invalid")]
    print("invalid runs (non-200 or socket errors): %d; runs repeated for other load: %d; "
          "kept although noisy: %d" % (len(bad), len(retried),
                                       len([m for m in runs if m["noisy"]])))
    print()

    def fmt(p):
        if p["status"] is None:
            return p["note"]
        s = "%d" % p["status"]
        if p.get("body_len") is not None:
            s += ", app got %d body bytes" % p["body_len"]
        if p.get("by_app"):
            s += " by the app"
        return s + " (%s ms, then %s)" % (p["ms"], p["after"])

    print("| candidate | 2 × Content-Length (5, 6) | TE `chunked, identity` + CL 5 | TE chunked (5) + CL 7 "
          "| CL 16000000, no body | async answer (parked / others) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for n in names:
        p = results["props"][n]
        asy = p["async"]
        print("| %s | %s | %s | %s | %s | %s |" % (
            LABEL[n], fmt(p["dup_cl"]), fmt(p["te_list_cl"]), fmt(p["te_cl"]), fmt(p["big_cl"]),
            "%s after %.0f ms; 4 others answered by %.0f ms" % (
                asy["status"], asy["parked_ms"], asy["others_ms"]) if asy["others_ok"]
            else "FAILED %s" % asy))


if __name__ == "__main__":
    main()
