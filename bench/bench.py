#!/usr/bin/python3
"""pyrunner benchmark: latency, throughput and memory of a real server, pool on and off.

    /usr/bin/python3 bench/bench.py --binary build/pyrunner [--quick] [--out FILE]

Starts its own servers on free loopback ports (`serve --port 0`), first with the warm pool
on, then off, one after the other, and measures each the same way:

  * latency: p50/p99 client-side, sequential requests over one keep-alive connection,
    warm-up excluded, for print(1), a full-stack import and a small pandas/numpy workload;
  * throughput: print(1) runs/s answered 200 "success" with 1, 8 and 32 concurrent
    clients (threads, one keep-alive connection each), for a fixed duration;
  * memory: private memory (Private_Clean + Private_Dirty of smaps_rollup) per idle pooled
    child, and VmRSS of the server and of its zygote.

It also times, on the same machine in the same run, the peer baseline: a fresh
`python3 -c "print(1)"`, a fresh full-stack import, and a one-shot `pyrunner run`; the
grading routes; and the drop-in APIs (the same program through POST /run, Judge0's
POST /submissions?wait=true and Piston's POST /api/v2/execute, in turn on one server).

It is a report, not a test: a missed target prints FAIL but the exit status stays 0. It
exits non-zero only when a server could not be started. Only the standard library is used.
"""

import argparse
import http.client
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PYTHON = "/usr/bin/python3"  # the interpreter with the scientific stack (not the one on PATH)

PRINT1 = "print(1)"
FULL_STACK = "import numpy, pandas, sympy, scipy, sklearn, matplotlib.pyplot as plt\nprint(1)"
WORKLOAD = """\
import numpy as np
import pandas as pd
rng = np.random.default_rng(0)
df = pd.DataFrame({"k": rng.integers(0, 10, 1000), "x": rng.normal(size=1000),
                   "y": rng.random(1000)})
g = df.groupby("k").agg({"x": "mean", "y": "sum"})
d = df.describe()
m = rng.random((200, 200))
p = m @ m.T
print(len(g), round(float(d.loc["mean", "x"]), 3), round(float(p.trace()), 1))
"""
# Rich results (issue 13): a figure shown as PNG, a DataFrame's HTML as the last expression.
PLOT = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.show()"
DATAFRAME = ("import pandas as pd\n"
             "pd.DataFrame({'a': range(20), 'b': [x * x for x in range(20)]})")
# (key, title, code, pause between requests in s). print1_paced is the latency of a run below
# saturation: with a pause the pool has refilled before each request. Back to back, one
# client alone saturates the 2 cores (each run's replacement costs ~6 ms of CPU to fork,
# confine and later tear down), so print1 measures a saturated server, not a run.
CASES = [("print1", "print(1)", PRINT1, 0.0),
         ("print1_paced", "print(1), 30 ms apart", PRINT1, 0.03),
         ("full_stack", "full-stack import", FULL_STACK, 0.0),
         ("workload", "pandas/numpy workload", WORKLOAD, 0.0),
         ("plot", "line plot returned as PNG", PLOT, 0.0),
         ("dataframe", "DataFrame as last expression", DATAFRAME, 0.0)]
CONCURRENCY = [1, 8, 32]

# (count, warm-up, time budget s) per latency case; the budget bounds the slow cold cases.
# At least MIN_SAMPLES are taken even past the budget, so that a p50 always exists.
MIN_SAMPLES = 3
PLAN = {
    "default": {
        "latency": {
            True: {"print1": (500, 20, 15), "print1_paced": (100, 5, 6),
                   "full_stack": (300, 20, 15), "workload": (200, 10, 15),
                   "plot": (150, 10, 10), "dataframe": (200, 10, 10)},
            False: {"print1": (100, 3, 10), "print1_paced": (30, 2, 4),
                    "full_stack": (12, 1, 18), "workload": (12, 1, 15),
                    "plot": (8, 1, 15), "dataframe": (8, 1, 15)},
        },
        # Throughput is measured in several windows and the median window is reported: on a
        # shared machine one window can land on another tenant's burst.
        "throughput_s": 3.0,
        "throughput_windows": 5,
        "baseline": {"python_print1": 20, "python_full_stack": 7, "pyrunner_run": 20,
                     "native_rich": 50},
    },
    "quick": {
        "latency": {
            True: {"print1": (100, 10, 3), "print1_paced": (30, 3, 2),
                   "full_stack": (60, 5, 3), "workload": (40, 5, 3),
                   "plot": (30, 3, 3), "dataframe": (30, 3, 3)},
            # a cold run is a fresh interpreter every time: little to warm up
            False: {"print1": (20, 2, 3), "print1_paced": (10, 1, 2),
                    "full_stack": (3, 0, 5), "workload": (3, 0, 4),
                    "plot": (3, 0, 5), "dataframe": (3, 0, 5)},
        },
        "throughput_s": 1.5,
        "throughput_windows": 1,
        "baseline": {"python_print1": 5, "python_full_stack": 3, "pyrunner_run": 5,
                     "native_rich": 15},
    },
}

TARGETS = [
    # (key in the pool-on results, label, comparison, threshold)
    # Latency below saturation (requests 30 ms apart); see CASES.
    ("print1_paced_p50_ms", "print(1) p50 <= 2 ms (30 ms apart)", "<=", 2.0),
    ("full_stack_p50_ms", "full-stack import p50 <= 5 ms", "<=", 5.0),
    ("throughput_8_rps", ">= 300 runs/s with 8 clients", ">=", 300.0),
    ("plot_p50_ms", "line plot as PNG p50 <= 30 ms", "<=", 30.0),
    ("dataframe_p50_ms", "DataFrame as last expression p50 <= 20 ms", "<=", 20.0),
    ("idle_child_private_mb", "<= 5 MB private memory per idle pooled child", "<=", 5.0),
]

HTTP_TIMEOUT = 120  # s per request: larger than any run this bench asks for
STARTUP_TIMEOUT = 120  # s for `serve` to log its port (a cold page cache makes preload slow)
STOP_TIMEOUT = 15  # s after SIGTERM before SIGKILL


class ServerFailed(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# statistics


def percentile(values, q):
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not values:
        return None
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    pos = (len(s) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def median(values):
    return statistics.median(values) if values else None


# ------------------------------------------------------------------------------------------
# the server under test


class Server:
    """One `pyrunner serve --port 0` we started; stopped by its pid only."""

    def __init__(self, binary, pool, workdir, name=None):
        self.binary = binary
        self.pool = pool
        self.name = name or ("pool_on" if pool else "pool_off")
        self.workdir = workdir
        self.config_path = os.path.join(workdir, self.name + ".yaml")
        self.log_path = os.path.join(workdir, self.name + ".log")
        self.proc = None
        self.port = None
        self.pool_size = 8
        with open(self.config_path, "w") as f:
            f.write("# written by bench/bench.py\n"
                    "server: {max_concurrent_runs: 8, max_queue: 64, shutdown_grace: 2}\n"
                    "pool: {enabled: %s, size: %d}\n" % ("true" if pool else "false",
                                                          self.pool_size))

    def start(self):
        self._log = open(self.log_path, "wb")
        env = dict(os.environ)
        env.pop("PYRUNNER_LOG_LEVEL", None)  # info level: one line per run, parsed below
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--port", "0", "--host", "127.0.0.1", "--config",
             self.config_path],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        pattern = re.compile(rb"listening on http://[0-9.]+:(\d+)")
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                m = pattern.search(f.read())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                raise ServerFailed("%s: server exited with status %s:\n%s" %
                                   (self.name, self.proc.returncode, self.log_tail()))
            time.sleep(0.05)
        else:
            raise ServerFailed("%s: no 'listening on' line within %d s:\n%s" %
                               (self.name, STARTUP_TIMEOUT, self.log_tail()))
        self.health()  # the port answers
        return self

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def server_durations_ms(self, start_offset, end_offset):
        """duration_ms of the successful POST /run lines the server logged in a byte range."""
        with open(self.log_path, "rb") as f:
            f.seek(start_offset)
            text = f.read(max(0, end_offset - start_offset)).decode("utf-8", "replace")
        return [float(m.group(1)) for m in
                re.finditer(r"POST /run 200 status=success duration_ms=([0-9.]+)", text)]

    def health(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", "/")
            resp = conn.getresponse()
            body = resp.read()
            if resp.status not in (200, 503):
                raise ServerFailed("%s: GET / answered %d" % (self.name, resp.status))
            return json.loads(body)
        finally:
            conn.close()

    def wait_pool_ready(self, timeout):
        """Waits until pool.ready == pool.size; returns the last health document."""
        deadline = time.monotonic() + timeout
        h = self.health()
        while time.monotonic() < deadline:
            p = h.get("pool", {})
            if p.get("ready", 0) >= p.get("size", 0):
                break
            time.sleep(0.1)
            h = self.health()
        return h

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            log("%s: no exit %d s after SIGTERM; SIGKILL %d" %
                (self.name, STOP_TIMEOUT, self.proc.pid))
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT)
        except ProcessLookupError:
            pass
        finally:
            self._log.close()


# ------------------------------------------------------------------------------------------
# HTTP


class Client:
    """One keep-alive HTTP/1.1 connection over a plain socket; reconnects once if the server
    closed an idle one.

    Not http.client: its request() and header parsing cost ~0.3 ms of CPU per request here,
    which showed up in every latency figure and took CPU from the server under test. This
    client sends each request in one write and reads exactly Content-Length bytes back."""

    def __init__(self, port):
        self.port = port
        self.sock = None
        self.connects = 0  # the server closes a keep-alive connection now and then

    def _connect(self):
        self.connects += 1
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=HTTP_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _exchange(self, request):
        """Sends one request; returns (status, headers dict, body bytes)."""
        self.sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = self.sock.recv(max(65536, length - len(body)))
            if not chunk:
                raise ConnectionError("server closed the connection mid-answer")
            body += chunk
        return status, headers, body

    def post_run(self, body):
        """Returns (http status, parsed body or None, seconds).

        The seconds include a reconnect when the server had closed the connection: a real
        client pays for it too."""
        return self.post(b"/run", body)

    def post(self, path, body):
        """POST `path` (bytes); as post_run."""
        request = (b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   b"Content-Type: application/json\r\n"
                   b"Content-Length: %d\r\n\r\n" % len(body)) + body
        for attempt in (0, 1):
            t0 = time.perf_counter()
            if self.sock is None:
                self._connect()
            try:
                status, headers, data = self._exchange(request)
            except (ConnectionError, OSError):
                # keep-alive connection closed by the server between requests: reconnect
                self.close()
                if attempt == 1:
                    raise
                continue
            elapsed = time.perf_counter() - t0
            if headers.get("connection", "").lower() == "close":
                self.close()
            try:
                doc = json.loads(data)
            except ValueError:
                doc = None
            return status, doc, elapsed
        raise ConnectionError("unreachable")

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def run_body(code):
    return json.dumps({"code": code}).encode()


# ------------------------------------------------------------------------------------------
# measurements


def measure_latency(server, code, count, warmup, budget_s, pause_s=0.0):
    client = Client(server.port)
    body = run_body(code)
    errors = []
    try:
        for _ in range(warmup):
            status, doc, _ = client.post_run(body)
            if status != 200 or not doc or doc.get("status") != "success":
                errors.append("warm-up: HTTP %d %s" % (status, str(doc)[:200]))
        log_from = server.log_size()
        connects_before = client.connects
        samples, user_code = [], []
        deadline = time.monotonic() + budget_s
        while len(samples) < count and (time.monotonic() < deadline or
                                        len(samples) < MIN_SAMPLES):
            if pause_s:
                time.sleep(pause_s)
            status, doc, elapsed = client.post_run(body)
            if status == 200 and doc and doc.get("status") == "success":
                samples.append(elapsed)
                user_code.append((doc.get("execution_time") or 0.0) * 1e3)
            else:
                errors.append("HTTP %d %s" % (status, str(doc)[:200]))
                if len(errors) > 20:
                    break
        time.sleep(0.05)  # the server logs a run after it answered it
        srv = server.server_durations_ms(log_from, server.log_size())
    finally:
        client.close()
    ms = [s * 1e3 for s in samples]
    return {
        "n": len(ms),
        "warmup": warmup,
        "pause_s": pause_s,
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "mean_ms": statistics.fmean(ms) if ms else None,
        "min_ms": min(ms) if ms else None,
        "max_ms": max(ms) if ms else None,
        "server_p50_ms": percentile(srv, 50),
        # the run's own execution_time: wall time of the user code inside the child
        "user_code_p50_ms": percentile(user_code, 50),
        "connections_opened": client.connects - connects_before,
        "errors": len(errors),
        "error_samples": errors[:3],
    }


CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    """(own utime+stime, reaped children's cutime+cstime) of a process, in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None, None
    # fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17
    own = (int(fields[11]) + int(fields[12])) / CLK_TCK
    reaped = (int(fields[13]) + int(fields[14])) / CLK_TCK
    return own, reaped


def machine_cpu():
    """(busy, total) CPU seconds of the whole machine, summed over its CPUs."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    total = sum(v[:8])  # guest time is already inside user
    return (total - idle) / CLK_TCK, total / CLK_TCK


def cpu_snapshot(server_pid, zygote_pid):
    srv_own, srv_reaped = proc_cpu(server_pid)
    zyg_own, _ = proc_cpu(zygote_pid) if zygote_pid else (None, None)
    t = os.times()
    busy, total = machine_cpu()
    return {"server": srv_own, "runs": srv_reaped, "zygote": zyg_own,
            "bench_client": t.user + t.system, "machine_busy": busy, "machine_total": total}


def cpu_breakdown(before, after, runs):
    """CPU ms per successful run of each party, and how busy the machine was."""
    out = {}
    for key in ("server", "zygote", "runs", "bench_client"):
        a, b = before.get(key), after.get(key)
        out[key + "_ms_per_run"] = ((b - a) * 1e3 / runs) if (a is not None and b is not None
                                                              and runs) else None
    total = after["machine_total"] - before["machine_total"]
    busy = after["machine_busy"] - before["machine_busy"]
    out["machine_busy_pct"] = 100.0 * busy / total if total > 0 else None
    ours = sum((after[k] or 0) - (before[k] or 0)
               for k in ("server", "zygote", "runs", "bench_client"))
    # Busy time not accounted to us: other users of this shared machine (and kernel threads).
    out["others_busy_pct"] = 100.0 * max(0.0, busy - ours) / total if total > 0 else None
    return out


def measure_throughput(server, clients, duration_s, zygote_pid=0):
    body = run_body(PRINT1)
    lock = threading.Lock()
    totals = {"success": 0, "busy_429": 0, "busy_503": 0, "other": 0}
    other_samples = []
    last_done = [0.0]
    start_gate = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker():
        c = Client(server.port)
        mine = {"success": 0, "busy_429": 0, "busy_503": 0, "other": 0}
        last = 0.0
        try:
            try:
                c._connect()
            except OSError:
                pass  # post_run connects again
            start_gate.wait(timeout=30)
            while time.perf_counter() < stop_at[0]:
                try:
                    status, doc, _ = c.post_run(body)
                except (OSError, ValueError) as e:
                    mine["other"] += 1
                    if len(other_samples) < 3:
                        other_samples.append(repr(e))
                    c.close()
                    time.sleep(0.01)
                    continue
                last = time.perf_counter()
                if status == 200 and doc and doc.get("status") == "success":
                    mine["success"] += 1
                elif status == 429:
                    mine["busy_429"] += 1
                    time.sleep(0.01)
                elif status == 503:
                    mine["busy_503"] += 1
                    time.sleep(0.01)
                else:
                    mine["other"] += 1
                    if len(other_samples) < 3:
                        other_samples.append("HTTP %d %s" % (status, str(doc)[:200]))
        except threading.BrokenBarrierError:
            pass
        finally:
            c.close()
            with lock:
                for k, v in mine.items():
                    totals[k] += v
                last_done[0] = max(last_done[0], last)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    stop_at[0] = t0 + 3600  # set properly once everyone is connected
    cpu_before = cpu_snapshot(server.proc.pid, zygote_pid)
    try:
        start_gate.wait(timeout=30)
    except threading.BrokenBarrierError:
        pass  # a client thread died before the start; the others run anyway
    t0 = time.perf_counter()
    stop_at[0] = t0 + duration_s
    for t in threads:
        t.join(timeout=duration_s + HTTP_TIMEOUT)
    time.sleep(0.1)  # let the reaper collect the last runs, so that their CPU is counted
    cpu = cpu_breakdown(cpu_before, cpu_snapshot(server.proc.pid, zygote_pid),
                        totals["success"])
    # Requests still in flight at the deadline complete and count: the window runs to the
    # last answer.
    elapsed = max(last_done[0], t0 + duration_s) - t0
    return {
        "clients": clients,
        "duration_s": elapsed,
        "runs_per_s": totals["success"] / elapsed if elapsed > 0 else None,
        "success": totals["success"],
        "busy_429": totals["busy_429"],
        "busy_503": totals["busy_503"],
        "other": totals["other"],
        "other_samples": other_samples,
        "cpu": cpu,
    }


def proc_status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key, _, value = line.partition(":")
                out[key] = value.strip()
    except OSError:
        return None
    return out


def kb_field(status, key):
    try:
        return int(status[key].split()[0])
    except (KeyError, ValueError, IndexError, TypeError):
        return None


def private_kb(pid):
    total = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except OSError:
        return None
    return total


def on_cpu_ms(pid):
    """CPU time a process has used so far (ns resolution, from /proc/PID/schedstat)."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0]) / 1e6
    except (OSError, ValueError, IndexError):
        return None


def count_lines(path):
    try:
        with open(path) as f:
            return sum(1 for _ in f)
    except OSError:
        return None


def measure_memory(server, settle_timeout):
    """Private memory per idle pooled child, VmRSS of the server and of the zygote."""
    h = server.wait_pool_ready(settle_timeout)
    pool = h.get("pool", {})
    zygote = int(pool.get("zygote_pid") or 0)
    server_pid = server.proc.pid
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        st = proc_status(pid)
        if not st or st.get("PPid") != str(server_pid) or pid == zygote:
            continue
        if not st.get("State", "").startswith("S"):  # idle children sleep; skip zombies
            continue
        uid = st.get("Uid", "").split()
        children.append({
            "pid": pid,
            "uid": int(uid[0]) if uid else None,
            "nspid": st.get("NSpid", ""),
            "private_kb": private_kb(pid),
            "rss_kb": kb_field(st, "VmRSS"),
            # an idle child has done only its fork-side setup (confinement, prepare_run)
            "setup_cpu_ms": on_cpu_ms(pid),
        })
    private = [c["private_kb"] / 1024.0 for c in children if c["private_kb"] is not None]
    srv = proc_status(server_pid)
    zyg = proc_status(zygote) if zygote else None
    return {
        "pool_size": pool.get("size"),
        "pool_ready": pool.get("ready"),
        "idle_children": len(children),
        "idle_child_private_mb": median(private),
        "idle_child_private_mb_all": [round(p, 2) for p in private],
        "idle_child_rss_mb": median([c["rss_kb"] / 1024.0 for c in children
                                     if c["rss_kb"] is not None]),
        "child_uids": sorted({c["uid"] for c in children}),
        "child_pid1_of_own_ns": (all(c["nspid"].split()[-1:] == ["1"] for c in children)
                                 if children else None),
        "idle_child_setup_cpu_ms": median([c["setup_cpu_ms"] for c in children
                                           if c["setup_cpu_ms"] is not None]),
        "zygote_vmas": count_lines("/proc/%d/maps" % zygote) if zyg else None,
        "server_rss_mb": (kb_field(srv, "VmRSS") or 0) / 1024.0 if srv else None,
        "zygote_rss_mb": (kb_field(zyg, "VmRSS") or 0) / 1024.0 if zyg else None,
        "zygote_private_mb": (private_kb(zygote) or 0) / 1024.0 if zyg else None,
    }


def bench_server(binary, pool, workdir, plan, servers, res):
    """Measures one server, filling `res` as it goes (so a failure keeps what was measured)."""
    server = Server(binary, pool, workdir)
    servers.append(server)
    label = "pool on" if pool else "pool off"
    log("== %s: starting server" % label)
    t0 = time.monotonic()
    server.start()
    startup_s = time.monotonic() - t0
    h = server.wait_pool_ready(60)
    log("   listening on port %d after %.1f s (server pid %d, zygote pid %s, pool %s/%s)" %
        (server.port, startup_s, server.proc.pid, h["pool"].get("zygote_pid"),
         h["pool"].get("ready"), h["pool"].get("size")))
    res.update({"port": server.port, "server_pid": server.proc.pid, "startup_s": startup_s,
                "health_pool": h.get("pool"), "health_runs": h.get("runs")})
    res["memory_at_start"] = measure_memory(server, 30)

    for key, title, code, pause in CASES:
        count, warmup, budget = plan["latency"][pool][key]
        server.wait_pool_ready(15)
        log("   latency %-22s (up to %d requests or %.0f s)" % (title, count, budget))
        r = measure_latency(server, code, count, warmup, budget, pause)
        res["latency_" + key] = r
        log("     n=%d p50 %.2f ms p99 %.2f ms (server-side p50 %s ms)%s" %
            (r["n"], r["p50_ms"] or float("nan"), r["p99_ms"] or float("nan"),
             "%.2f" % r["server_p50_ms"] if r["server_p50_ms"] is not None else "-",
             ", %d errors: %s" % (r["errors"], r["error_samples"]) if r["errors"] else ""))

    for n in CONCURRENCY:
        h = server.wait_pool_ready(15)
        windows = plan["throughput_windows"]
        log("   throughput print(1), %d clients, %d x %.1f s" % (n, windows, plan["throughput_s"]))
        trials = []
        for _ in range(windows):
            server.wait_pool_ready(15)
            trials.append(measure_throughput(server, n, plan["throughput_s"],
                                             int(h.get("pool", {}).get("zygote_pid") or 0)))
        trials.sort(key=lambda t: t["runs_per_s"] or 0)
        r = dict(trials[len(trials) // 2])  # the median window, with its CPU breakdown
        r["windows_runs_per_s"] = [t["runs_per_s"] for t in trials]
        res["throughput_%d" % n] = r
        if windows > 1:
            log("     windows: %s runs/s" % ", ".join("%.0f" % (t["runs_per_s"] or 0)
                                                    for t in trials))
        c = r["cpu"]
        log("     %.1f runs/s (%d success, %d x 429, %d x 503, %d other)%s" %
            (r["runs_per_s"] or 0, r["success"], r["busy_429"], r["busy_503"], r["other"],
             " " + str(r["other_samples"]) if r["other"] else ""))
        log("     CPU ms/run: server %s, zygote %s, runs %s, bench client %s; machine busy "
            "%s%% (others %s%%)" % tuple(
                "-" if c[k] is None else "%.1f" % c[k]
                for k in ("server_ms_per_run", "zygote_ms_per_run", "runs_ms_per_run",
                          "bench_client_ms_per_run", "machine_busy_pct", "others_busy_pct")))

    res["memory"] = measure_memory(server, 30)
    m = res["memory"]
    log("   memory: %d idle children (uids %s, each PID 1 of its own namespace: %s), private "
        "median %s MB; server RSS %.1f MB; zygote RSS %s MB" %
        (m["idle_children"], m["child_uids"],
         "-" if m["child_pid1_of_own_ns"] is None else m["child_pid1_of_own_ns"],
         "%.2f" % m["idle_child_private_mb"] if m["idle_child_private_mb"] is not None else "-",
         m["server_rss_mb"] or 0,
         "%.1f" % m["zygote_rss_mb"] if m["zygote_rss_mb"] is not None else "-"))
    res["server_log_tail"] = server.log_tail(5)
    server.stop()


def time_subprocess(argv, n, stdin_data=None, check=None):
    samples, failures = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        p = subprocess.run(argv, input=stdin_data, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        elapsed = time.perf_counter() - t0
        ok = p.returncode == 0 and (check is None or check(p.stdout))
        if ok:
            samples.append(elapsed * 1e3)
        else:
            failures.append("exit %d: %s" % (p.returncode, (p.stdout + p.stderr)[-300:]))
    return {"n": len(samples), "median_ms": median(samples),
            "min_ms": min(samples) if samples else None,
            "max_ms": max(samples) if samples else None,
            "failures": len(failures), "failure_samples": failures[:2]}


# The floor of the two rich cases: the same work in one warm python3 of its own (no sandbox, no
# fork, no HTTP), after one untimed round, as pyrunner's runner renders it: the open figure
# saved as PNG at the figure's resolution, the DataFrame's repr and HTML.
NATIVE_RICH = r"""
import io, json, sys, time
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
def plot():
    plt.plot([1, 2, 3], [1, 4, 9])
    fig = plt.gcf()
    fig.savefig(io.BytesIO(), format="png", dpi="figure")
    plt.close("all")
def dataframe():
    df = pd.DataFrame({'a': range(20), 'b': [x * x for x in range(20)]})
    repr(df), df._repr_html_()
out = {}
for name, work in (("plot", plot), ("dataframe", dataframe)):
    work()
    times = []
    for _ in range(int(sys.argv[1])):
        t = time.perf_counter()
        work()
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    out[name] = times[len(times) // 2]
print(json.dumps(out))
"""


def native_rich(n):
    """Median ms of the plot and DataFrame cases in one warm python3 (NATIVE_RICH)."""
    p = subprocess.run([PYTHON, "-c", NATIVE_RICH, str(n)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=600)
    if p.returncode != 0:
        return {"failure": p.stderr[-300:]}
    return json.loads(p.stdout)


def bench_baseline(binary, plan, workdir):
    b = plan["baseline"]
    out = {}
    log("== peer baseline (fresh processes)")
    out["python_print1"] = time_subprocess([PYTHON, "-c", "print(1)"], b["python_print1"])
    log("   python3 -c print(1): median %.1f ms" % (out["python_print1"]["median_ms"] or 0))
    out["python_full_stack"] = time_subprocess(
        [PYTHON, "-c", "import numpy, pandas, sympy, scipy, sklearn, matplotlib.pyplot"],
        b["python_full_stack"])
    log("   python3 -c 'import <full stack>': median %.1f ms" %
        (out["python_full_stack"]["median_ms"] or 0))
    script = os.path.join(workdir, "print1.py")
    with open(script, "w") as f:
        f.write("print(1)\n")

    def ok(stdout):
        try:
            return json.loads(stdout).get("status") == "success"
        except ValueError:
            return False

    out["native_rich"] = native_rich(b["native_rich"])
    log("   in one warm python3: line plot as PNG %s ms, DataFrame repr+HTML %s ms" %
        (fmt("%.1f", out["native_rich"].get("plot")),
         fmt("%.1f", out["native_rich"].get("dataframe"))))
    out["pyrunner_run"] = time_subprocess([binary, "run", script], b["pyrunner_run"], check=ok)
    log("   pyrunner run print(1): median %.1f ms%s" %
        (out["pyrunner_run"]["median_ms"] or 0,
         " (%d failures: %s)" % (out["pyrunner_run"]["failures"],
                                 out["pyrunner_run"]["failure_samples"])
         if out["pyrunner_run"]["failures"] else ""))
    return out


# ------------------------------------------------------------------------------------------
# grading (issue 15): POST /grade and `pyrunner test`

GRADE_SOLUTION = "a, b = map(int, input().split())\nprint(a + b)\n"
NUMPY_SOLUTION = "import numpy as np\nn = int(input())\nprint(int(np.arange(n).sum()))\n"
GRADE_PLAN = {"default": {"grade_requests": 100, "test_repeats": 3, "break_even": [1, 2, 3, 5]},
              "quick": {"grade_requests": 30, "test_repeats": 1, "break_even": [1, 3]}}
GRADING_TARGETS = [
    ("grade10_p50_ms", "/grade with 10 tests p50 <= 40 ms", "<=", 40.0),
    ("test100_numpy_s", "pyrunner test, 100 numpy cases <= 3 s wall", "<=", 3.0),
]


def grade_body(n):
    tests = [{"name": str(i), "stdin": "%d %d\n" % (i, i), "expected_output": str(2 * i)}
             for i in range(n)]
    return json.dumps({"code": GRADE_SOLUTION, "tests": tests}).encode()


def write_cases(path, n):
    with open(path, "w") as f:
        for i in range(n):
            f.write("- stdin: '%d'\n  expected_output: '%d'\n" % (i + 1, i * (i + 1) // 2))


def time_test_command(binary, solution, cases, pool, repeats):
    """Median wall seconds of `pyrunner test` (it must exit 0: every case accepted)."""
    samples, failures = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        p = subprocess.run([binary, "test", solution, cases, "--pool", pool, "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        elapsed = time.perf_counter() - t0
        if p.returncode == 0:
            samples.append(elapsed)
        else:
            failures.append("exit %d: %s" % (p.returncode, (p.stdout + p.stderr)[-300:]))
    return {"n": len(samples), "median_s": median(samples), "failures": failures[:2]}


def bench_grading(binary, mode, workdir, res):
    gp = GRADE_PLAN[mode]
    server = Server(binary, True, workdir, name="grading")
    log("== grading: /grade against a warm server (pool 8, 8 run slots)")
    try:
        server.start()
        server.wait_pool_ready(60)
        client = Client(server.port)
        for label, path, body, count in (
                ("grade10", b"/grade", grade_body(10), gp["grade_requests"]),
                ("run1", b"/run", json.dumps({"code": GRADE_SOLUTION, "stdin": "1 2\n"}).encode(),
                 gp["grade_requests"])):
            samples, bad = [], 0
            for i in range(count + 3):
                server.wait_pool_ready(5)
                status, doc, elapsed = client.post(path, body)
                ok = status == 200 and doc is not None and (
                    doc.get("verdict") == "accepted" if label == "grade10"
                    else doc.get("status") == "success")
                if i >= 3 and ok:
                    samples.append(elapsed * 1e3)
                bad += 0 if ok else 1
            res[label] = {"n": len(samples), "p50_ms": percentile(samples, 50),
                          "p99_ms": percentile(samples, 99), "failed": bad}
            log("   %s: n=%d p50 %.2f ms p99 %.2f ms%s" % (
                label, len(samples), res[label]["p50_ms"] or float("nan"),
                res[label]["p99_ms"] or float("nan"), ", %d failed" % bad if bad else ""))
        client.close()
    finally:
        server.stop()

    log("== grading: pyrunner test (numpy solution)")
    solution = os.path.join(workdir, "numpy_solution.py")
    with open(solution, "w") as f:
        f.write(NUMPY_SOLUTION)
    cases = os.path.join(workdir, "cases100.yaml")
    write_cases(cases, 100)
    res["test100_warm"] = time_test_command(binary, solution, cases, "auto", gp["test_repeats"])
    log("   100 cases, warm zygote (auto): %.2f s" % (res["test100_warm"]["median_s"] or 0))
    res["test100_cold"] = time_test_command(binary, solution, cases, "cold", 1)
    log("   100 cases, a fresh interpreter each (--pool cold, baseline): %.2f s" %
        (res["test100_cold"]["median_s"] or 0))
    res["break_even"] = []
    for n in gp["break_even"]:
        path = os.path.join(workdir, "cases%d.yaml" % n)
        write_cases(path, n)
        warm = time_test_command(binary, solution, path, "warm", gp["test_repeats"] + 2)
        cold = time_test_command(binary, solution, path, "cold", gp["test_repeats"] + 2)
        res["break_even"].append({"cases": n, "warm_s": warm["median_s"],
                                  "cold_s": cold["median_s"]})
        log("   %d cases: warm %.2f s, cold %.2f s" % (n, warm["median_s"] or 0,
                                                       cold["median_s"] or 0))


def grading_flat(res):
    if not res:
        return {}
    return {"grade10_p50_ms": (res.get("grade10") or {}).get("p50_ms"),
            "run1_p50_ms": (res.get("run1") or {}).get("p50_ms"),
            "test100_numpy_s": (res.get("test100_warm") or {}).get("median_s"),
            "test100_cold_s": (res.get("test100_cold") or {}).get("median_s")}


def render_grading(res, targets):
    f = grading_flat(res)
    lines = ["", "grading (same run):"]
    for key, title, spec in (("grade10_p50_ms", "/grade, 10 tests, p50 ms", "%.2f"),
                             ("run1_p50_ms", "  baseline: one POST /run p50 ms", "%.2f"),
                             ("test100_numpy_s", "pyrunner test, 100 numpy cases, s", "%.2f"),
                             ("test100_cold_s", "  baseline: --pool cold, s", "%.2f")):
        lines.append("  %-40s %s" % (title, fmt(spec, f.get(key))))
    for row in res.get("break_even", []):
        lines.append("  %-40s warm %s s, cold %s s" % (
            "pyrunner test, %d cases:" % row["cases"], fmt("%.2f", row["warm_s"]),
            fmt("%.2f", row["cold_s"])))
    lines.append("targets (grading):")
    for t in targets:
        lines.append("  %-4s  %-46s measured %s" % (t["verdict"], t["label"],
                                                   fmt("%.2f", t["measured"])))
    return "\n".join(lines)


def evaluate_grading_targets(res):
    f = grading_flat(res)
    out = []
    for key, label, op, threshold in GRADING_TARGETS:
        v = f.get(key)
        verdict = "n/a" if v is None else (
            "pass" if ((v <= threshold) if op == "<=" else (v >= threshold)) else "FAIL")
        out.append({"key": key, "label": label, "op": op, "threshold": threshold,
                    "measured": v, "verdict": verdict})
    return out


# ------------------------------------------------------------------------------------------
# the drop-in APIs


# One program through the three routes, side by side on one server and one connection, the
# routes taken in turn so that a burst on the shared machine hits all three alike.
COMPAT_PLAN = {"default": 100, "quick": 30}
COMPAT_PROGRAM = "print(sum(range(10)))"
COMPAT_ROUTES = [
    ("run", b"/run", {"code": COMPAT_PROGRAM},
     lambda d: d.get("status") == "success"),
    ("judge0_wait", b"/submissions?wait=true", {"source_code": COMPAT_PROGRAM, "language_id": 71},
     lambda d: (d.get("status") or {}).get("id") == 3),
    ("piston", b"/api/v2/execute",
     {"language": "python", "version": "3", "files": [{"content": COMPAT_PROGRAM}]},
     lambda d: (d.get("run") or {}).get("code") == 0),
]


def bench_compat(binary, mode, workdir, res):
    n = COMPAT_PLAN[mode]
    server = Server(binary, True, workdir, name="compat")
    log("== drop-in APIs: POST /run vs Judge0 POST /submissions?wait=true vs Piston execute")
    try:
        server.start()
        server.wait_pool_ready(60)
        client = Client(server.port)
        samples = {key: [] for key, _, _, _ in COMPAT_ROUTES}
        bad = {key: 0 for key, _, _, _ in COMPAT_ROUTES}
        for i in range(n + 3):
            for key, path, body, ok in COMPAT_ROUTES:
                server.wait_pool_ready(5)
                status, doc, elapsed = client.post(path, json.dumps(body).encode())
                good = status in (200, 201) and doc is not None and ok(doc)
                if i >= 3 and good:
                    samples[key].append(elapsed * 1e3)
                bad[key] += 0 if good else 1
        client.close()
        for key, _, _, _ in COMPAT_ROUTES:
            res[key] = {"n": len(samples[key]), "p50_ms": percentile(samples[key], 50),
                        "p99_ms": percentile(samples[key], 99), "failed": bad[key]}
            log("   %-12s n=%d p50 %.2f ms p99 %.2f ms%s" % (
                key, res[key]["n"], res[key]["p50_ms"] or float("nan"),
                res[key]["p99_ms"] or float("nan"),
                ", %d failed" % bad[key] if bad[key] else ""))
    finally:
        server.stop()


def render_compat(res):
    lines = ["", "drop-in APIs (same run, same server, requests in turn):"]
    base = (res.get("run") or {}).get("p50_ms")
    for key, title in (("run", "POST /run"), ("judge0_wait", "Judge0 POST /submissions?wait=true"),
                       ("piston", "Piston POST /api/v2/execute")):
        r = res.get(key) or {}
        ratio = ("%.2fx" % (r["p50_ms"] / base)
                 if r.get("p50_ms") is not None and base else "-")
        lines.append("  %-40s p50 %s ms, p99 %s ms  (%s of /run)" % (
            title, fmt("%.2f", r.get("p50_ms")), fmt("%.2f", r.get("p99_ms")), ratio))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# report


def flat(res):
    """The table's metrics of one server's results, as {key: value}."""
    if not res:
        return {}
    f = {}
    for key, _, _, _ in CASES:
        lat = res.get("latency_" + key, {})
        f[key + "_p50_ms"] = lat.get("p50_ms")
        f[key + "_p99_ms"] = lat.get("p99_ms")
        f[key + "_server_p50_ms"] = lat.get("server_p50_ms")
        f[key + "_user_code_p50_ms"] = lat.get("user_code_p50_ms")
    for n in CONCURRENCY:
        t = res.get("throughput_%d" % n, {})
        f["throughput_%d_rps" % n] = t.get("runs_per_s")
        f["throughput_%d_busy" % n] = (t.get("busy_429", 0) + t.get("busy_503", 0)
                                       if t else None)
    cpu = res.get("throughput_8", {}).get("cpu", {})
    for k, v in cpu.items():
        f["cpu8_" + k] = v
    m = res.get("memory", {})
    f["idle_child_private_mb"] = m.get("idle_child_private_mb")
    f["server_rss_mb"] = m.get("server_rss_mb")
    f["zygote_rss_mb"] = m.get("zygote_rss_mb")
    f["idle_child_setup_cpu_ms"] = m.get("idle_child_setup_cpu_ms")
    f["zygote_vmas"] = m.get("zygote_vmas")
    f["startup_s"] = res.get("startup_s")
    return f


ROWS = [
    ("print1_p50_ms", "print(1) p50 ms, back to back", "%.2f"),
    ("print1_p99_ms", "print(1) p99 ms, back to back", "%.2f"),
    ("print1_server_p50_ms", "  server-side p50 ms", "%.2f"),
    ("print1_user_code_p50_ms", "  of which user code p50 ms", "%.2f"),
    ("print1_paced_p50_ms", "print(1) p50 ms, 30 ms apart", "%.2f"),
    ("full_stack_p50_ms", "full-stack import p50 ms", "%.2f"),
    ("full_stack_p99_ms", "full-stack import p99 ms", "%.2f"),
    ("full_stack_server_p50_ms", "  server-side p50 ms", "%.2f"),
    ("full_stack_user_code_p50_ms", "  of which user code p50 ms", "%.2f"),
    ("workload_p50_ms", "pandas/numpy workload p50 ms", "%.2f"),
    ("workload_p99_ms", "pandas/numpy workload p99 ms", "%.2f"),
    ("workload_server_p50_ms", "  server-side p50 ms", "%.2f"),
    ("workload_user_code_p50_ms", "  of which user code p50 ms", "%.2f"),
    ("plot_p50_ms", "line plot as PNG p50 ms", "%.2f"),
    ("plot_user_code_p50_ms", "  of which user code p50 ms", "%.2f"),
    ("dataframe_p50_ms", "DataFrame as last expression p50 ms", "%.2f"),
    ("dataframe_user_code_p50_ms", "  of which user code p50 ms", "%.2f"),
    ("throughput_1_rps", "runs/s, 1 client", "%.1f"),
    ("throughput_8_rps", "runs/s, 8 clients", "%.1f"),
    ("throughput_32_rps", "runs/s, 32 clients", "%.1f"),
    ("throughput_1_busy", "  429/503 answers, 1 client", "%d"),
    ("throughput_8_busy", "  429/503 answers, 8 clients", "%d"),
    ("throughput_32_busy", "  429/503 answers, 32 clients", "%d"),
    ("cpu8_server_ms_per_run", "CPU ms/run, 8 clients: server", "%.2f"),
    ("cpu8_zygote_ms_per_run", "  zygote", "%.2f"),
    ("cpu8_runs_ms_per_run", "  sandboxed children", "%.2f"),
    ("cpu8_bench_client_ms_per_run", "  bench client", "%.2f"),
    ("cpu8_machine_busy_pct", "machine busy %, 8 clients", "%.0f"),
    ("cpu8_others_busy_pct", "  not ours (other users) %", "%.0f"),
    ("idle_child_private_mb", "private MB per idle pooled child", "%.2f"),
    ("server_rss_mb", "server RSS MB", "%.1f"),
    ("zygote_rss_mb", "zygote RSS MB", "%.1f"),
    ("zygote_vmas", "  zygote mappings (VMAs)", "%d"),
    ("idle_child_setup_cpu_ms", "CPU ms to confine one idle child", "%.2f"),
    ("startup_s", "server start to listening s", "%.2f"),
]


def fmt(spec, v):
    if v is None:
        return "-"
    return spec % v


def render(results):
    on, off = flat(results["servers"].get("pool_on")), flat(results["servers"].get("pool_off"))
    lines = []
    w0, w = 34, 11
    lines.append("%-*s %*s %*s %*s" % (w0, "metric", w, "pool on", w, "pool off", w, "off/on"))
    lines.append("-" * (w0 + 3 * (w + 1)))
    for key, title, spec in ROWS:
        a, b = on.get(key), off.get(key)
        ratio = "-"
        # no ratio for counts, percentages, or values below the table's resolution
        if (a is not None and b is not None and a >= 0.01 and b >= 0.01
                and not key.endswith("_busy") and "busy_pct" not in key):
            ratio = "%.2fx" % (b / a)
        lines.append("%-*s %*s %*s %*s" % (w0, title, w, fmt(spec, a), w, fmt(spec, b), w, ratio))
    base = results.get("baseline") or {}
    if base:
        lines.append("")
        lines.append("peer baseline, same machine, same run (median of N fresh processes):")
        for key, title in (("python_print1", 'python3 -c "print(1)"'),
                           ("python_full_stack", 'python3 -c "import <full stack>"'),
                           ("pyrunner_run", "pyrunner run print(1) (one-shot CLI)")):
            r = base.get(key) or {}
            lines.append("  %-*s %*s ms  (n=%s)" % (w0 + 4, title, w - 6,
                                                     fmt("%.1f", r.get("median_ms")),
                                                     r.get("n", "-")))
        native = base.get("native_rich") or {}
        for key, title in (("plot", "line plot as PNG, in one warm python3"),
                           ("dataframe", "DataFrame repr+HTML, in one warm python3")):
            lines.append("  %-*s %*s ms  (the floor: no sandbox, no fork)" %
                         (w0 + 4, title, w - 6, fmt("%.1f", native.get(key))))
    lines.append("")
    lines.append("targets (pool on):")
    for t in results["targets"]:
        lines.append("  %-4s  %-46s measured %s" %
                     (t["verdict"], t["label"], fmt("%.2f", t["measured"])))
    lines.append("")
    la = results["meta"]
    lines.append("load average before %s, after %s; %d CPUs; mode %s" %
                 (la["loadavg_before"], la.get("loadavg_after"), la["cpus"], la["mode"]))
    return "\n".join(lines)


def evaluate_targets(results):
    on = flat(results["servers"].get("pool_on"))
    out = []
    for key, label, op, threshold in TARGETS:
        v = on.get(key)
        if v is None:
            verdict = "n/a"
        elif (v <= threshold) if op == "<=" else (v >= threshold):
            verdict = "pass"
        else:
            verdict = "FAIL"
        out.append({"key": key, "label": label, "op": op, "threshold": threshold,
                    "measured": v, "verdict": verdict})
    return out


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(REPO, "build", "pyrunner"),
                    help="the pyrunner binary (default: build/pyrunner)")
    ap.add_argument("--quick", action="store_true",
                    help="fewer requests and shorter throughput windows (~40 s)")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results", "latest.json"),
                    help="JSON file for every number (default: bench/results/latest.json)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the peer baseline")
    ap.add_argument("--only-grading", action="store_true",
                    help="only the grading numbers (POST /grade, pyrunner test)")
    ap.add_argument("--no-grading", action="store_true", help="skip the grading numbers")
    ap.add_argument("--no-sessions", action="store_true",
                    help="skip the sessions numbers and their Jupyter peer (bench/sessions.py)")
    ap.add_argument("--no-compat", action="store_true", help="skip the drop-in API numbers")
    ap.add_argument("--only-compat", action="store_true",
                    help="only the drop-in API numbers (Judge0, Piston, beside POST /run)")
    args = ap.parse_args()

    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        log("bench: %s is not an executable (build it: cmake --build build -j 2)" % binary)
        return 2
    mode = "quick" if args.quick else "default"
    plan = PLAN[mode]

    # SIGTERM behaves like Ctrl-C so that the servers are stopped in `finally`.
    def on_term(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started in background

    results = {
        "meta": {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "mode": mode,
            "binary": binary,
            "host": platform.node(),
            "kernel": platform.release(),
            "cpus": os.cpu_count() or 0,
            "loadavg_before": loadavg(),
            "python": PYTHON,
            "server_config": {"pool.size": 8, "server.max_concurrent_runs": 8,
                              "server.max_queue": 64},
            "plan": {"latency": {("pool_on" if k else "pool_off"): v
                                 for k, v in plan["latency"].items()},
                     "throughput_s": plan["throughput_s"],
                     "throughput_windows": plan["throughput_windows"], "baseline": plan["baseline"]},
        },
        "servers": {},
        "baseline": None,
    }
    servers = []
    failed = []
    t_start = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="pyrunner-bench-")
    try:
        for pool in (() if args.only_grading or args.only_compat else (True, False)):
            name = "pool_on" if pool else "pool_off"
            res = results["servers"][name] = {}
            try:
                bench_server(binary, pool, workdir, plan, servers, res)
            except ServerFailed as e:
                log("bench: %s" % e)
                failed.append(name)
                res["error"] = str(e)
            except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                # the server stopped answering (crashed?) in the middle: keep what was measured
                tail = servers[-1].log_tail(8) if servers else ""
                log("bench: %s: the server failed during the bench: %r\n%s" % (name, e, tail))
                failed.append(name)
                res["error"] = "%r; server log tail:\n%s" % (e, tail)
            finally:
                for s in servers:
                    s.stop()
        if not args.no_baseline and not args.only_grading and not args.only_compat:
            results["baseline"] = bench_baseline(binary, plan, workdir)
        if not args.no_grading and not args.only_compat:
            results["grading"] = {}
            try:
                bench_grading(binary, mode, workdir, results["grading"])
            except (ServerFailed, OSError, http.client.HTTPException, ValueError, KeyError,
                    subprocess.TimeoutExpired) as e:
                log("bench: grading: %r" % e)
                failed.append("grading")
                results["grading"]["error"] = repr(e)
        if not args.no_sessions and not args.only_grading and not args.only_compat:
            import sessions  # bench/sessions.py, beside this file
            try:
                results["sessions"] = sessions.bench_sessions(binary, mode, workdir)
            except (ServerFailed, OSError, http.client.HTTPException, ValueError, KeyError) as e:
                log("bench: sessions: %r" % e)
                failed.append("sessions")
                results["sessions"] = {"error": repr(e)}
        if not args.no_compat and not args.only_grading:
            results["compat"] = {}
            try:
                bench_compat(binary, mode, workdir, results["compat"])
            except (ServerFailed, OSError, http.client.HTTPException, ValueError, KeyError) as e:
                log("bench: compat: %r" % e)
                failed.append("compat")
                results["compat"]["error"] = repr(e)
    except KeyboardInterrupt:
        log("bench: interrupted; stopping the servers it started")
        for s in servers:
            s.stop()
        return 130
    finally:
        for s in servers:
            s.stop()
        for name in os.listdir(workdir):
            try:
                os.unlink(os.path.join(workdir, name))
            except OSError:
                pass
        try:
            os.rmdir(workdir)
        except OSError:
            pass

    results["meta"]["loadavg_after"] = loadavg()
    results["meta"]["elapsed_s"] = time.monotonic() - t_start
    results["targets"] = evaluate_targets(results)
    if any(len(r) > 1 for r in results["servers"].values()):  # something was measured
        print(render(results))
    if results.get("grading"):
        results["grading_targets"] = evaluate_grading_targets(results["grading"])
        print(render_grading(results["grading"], results["grading_targets"]))
    if results.get("sessions", {}).get("targets"):
        import sessions
        print(sessions.render(results["sessions"]))
    if results.get("compat") and "error" not in results["compat"]:
        print(render_compat(results["compat"]))
    print("total %.0f s; numbers in %s" % (results["meta"]["elapsed_s"], args.out))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    if failed:
        print("ERROR: the server failed (did not start, or stopped answering): %s; details in "
              "%s" % (", ".join(failed), args.out))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
