#!/usr/bin/python3
"""Streamed runs beside plain ones: what streaming costs a plain run (nothing, it should be)
and how soon a streamed run's output reaches its client.

    /usr/bin/python3 bench/stream.py --binary build/pyrunner [--baseline OTHER_BINARY] [--rounds 3]

For each binary (the baseline, e.g. a build of main before streaming, first), in alternating
rounds on one machine so that load drifts hit both alike, one warm server each:

  * print(1) p50/p99, one keep-alive connection, 30 ms apart (the paced latency of make bench);
  * print(1) runs/s with 8 clients (threads, one keep-alive connection each) for a few seconds;
  * (streaming binaries only) streamed print(1) p50 with Accept: application/x-ndjson, and the
    latency of the first event: a run prints, then spins for 300 ms; from the request to the
    first stdout line, and from the print (the run reports its time.monotonic() at the print,
    the same clock as ours: no PID namespace has a clock of its own) to that line's arrival.

A report, not a test: it prints a table and exits 0 unless a server could not be started.
Standard library only.
"""

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CONFIG = "python:\n  preload: [numpy]\n"
PRINT1 = json.dumps({"code": "print(1)"})
# Prints the monotonic clock, then keeps running: the line must arrive before the run ends.
FIRST = json.dumps({"code": "import time\nprint(time.monotonic(), flush=True)\n"
                            "t = time.monotonic()\nwhile time.monotonic() - t < 0.3:\n    pass\n"})


class Server:
    def __init__(self, binary):
        self.config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        self.config.write(CONFIG)
        self.config.close()
        self.proc = subprocess.Popen([binary, "serve", "--port", "0", "--config", self.config.name],
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        self.port = None
        for line in self.proc.stderr:
            m = re.search(r"listening on http://[^:]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
            if time.monotonic() > deadline:
                break
        if self.port is None:
            raise SystemExit("server did not start: " + binary)
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        self.wait_ready()

    def wait_ready(self):
        for _ in range(600):
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/")
                health = json.loads(c.getresponse().read())
                if health.get("pool", {}).get("ready", 0) >= 1:
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.1)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        os.unlink(self.config.name)


def post(conn, body, headers=None):
    conn.request("POST", "/run", body, dict({"Content-Type": "application/json"}, **(headers or {})))
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError("HTTP %d: %s" % (resp.status, data[:200]))
    return data


def paced(port, body, headers=None, n=200, warm=10, pause=0.03):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    for i in range(warm + n):
        t = time.perf_counter()
        post(conn, body, headers)
        if i >= warm:
            times.append((time.perf_counter() - t) * 1000)
        time.sleep(pause)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def throughput(port, clients=8, seconds=5.0):
    done = [0] * clients
    stop = time.monotonic() + seconds

    def client(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < stop:
            if json.loads(post(conn, PRINT1))["status"] == "success":
                done[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.monotonic() - start)


def first_event(port, n=20):
    """ms from the request to the first line, and from the print to its arrival."""
    to_first, after_print = [], []
    for _ in range(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        t = time.perf_counter()
        conn.request("POST", "/run", FIRST, {"Content-Type": "application/json",
                                             "Accept": "application/x-ndjson"})
        resp = conn.getresponse()
        line = json.loads(resp.readline())
        arrived, arrived_perf = time.monotonic(), time.perf_counter()
        assert line["type"] == "stdout", line
        to_first.append((arrived_perf - t) * 1000)
        after_print.append((arrived - float(line["text"])) * 1000)
        last = None
        for raw in resp:
            last = json.loads(raw)
        assert last["type"] == "result" and last["result"]["status"] == "success", last
        conn.close()
    return statistics.median(to_first), statistics.median(after_print), max(after_print)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/pyrunner")
    ap.add_argument("--baseline", help="a binary to compare plain runs with (e.g. main's)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    binaries = ([("baseline", args.baseline)] if args.baseline else []) + [("stream", args.binary)]
    rows = {name: {"p50": [], "p99": [], "rps": [], "s_p50": [], "first": [], "lag": [],
                   "lag_max": []} for name, _ in binaries}
    for r in range(args.rounds):
        for name, binary in binaries:
            server = Server(binary)
            try:
                row = rows[name]
                p50, p99 = paced(server.port, PRINT1)
                row["p50"].append(p50)
                row["p99"].append(p99)
                row["rps"].append(throughput(server.port))
                if name == "stream":
                    row["s_p50"].append(paced(server.port, PRINT1,
                                              {"Accept": "application/x-ndjson"})[0])
                    first, lag, lag_max = first_event(server.port)
                    row["first"].append(first)
                    row["lag"].append(lag)
                    row["lag_max"].append(lag_max)
            finally:
                server.stop()
            print("round %d %s done" % (r + 1, name), file=sys.stderr)
    med = lambda xs: "%.2f" % statistics.median(xs) if xs else "-"
    print("%-9s %10s %10s %12s %14s %14s %16s" % ("binary", "p50 ms", "p99 ms", "runs/s @8",
                                                  "stream p50 ms", "first line ms",
                                                  "print->client ms"))
    for name, _ in binaries:
        row = rows[name]
        print("%-9s %10s %10s %12s %14s %14s %16s" % (
            name, med(row["p50"]), med(row["p99"]), med(row["rps"]), med(row["s_p50"]),
            med(row["first"]), med(row["lag"]) + (" (max %s)" % med(row["lag_max"])
                                                   if row["lag_max"] else "")))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
