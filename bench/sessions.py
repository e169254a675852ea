#!/usr/bin/python3
"""pyrunner benchmark, sessions: create, run with state, idle memory; a Jupyter kernel beside.

    /usr/bin/python3 bench/sessions.py --binary build/pyrunner [--quick]

(bench/bench.py runs it too, after the servers' numbers, unless --no-sessions.)

Against one warm server (pool 8) it measures, client-side over one keep-alive connection:

  * create: POST /sessions p50/p99 (the pool refilled before each, as a client creating a
    session now and then sees it), and DELETE after each;
  * run: POST /sessions/{id}/run p50/p99 of print(1) and of `x += 1` (state across runs);
  * rich results: the same, of bench.py's line plot shown as PNG and DataFrame as the last
    expression (each answer checked to hold the image/png or text/html);
  * memory: the private memory (Private_Clean + Private_Dirty) an idle session adds, from
    the server's children with 32 sessions open minus the same without (the pool's ready
    children are there both times), divided by 32.

The peer, in the same run on the same machine: a Jupyter kernel (Debian's python3-ipykernel
through python3-jupyter-client, as a notebook server drives it): its start-up until it
answers, execute of print(1), `x += 1`, the plot (matplotlib-inline, ipykernel's default) and
the DataFrame (each reply checked to carry the image/png or text/html), its private memory
idle with numpy imported.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (Server, Client, percentile, private_kb, proc_status)

PLAN = {"default": {"creates": 40, "runs": 300, "rich_runs": 40, "idle_sessions": 32,
                    "kernel_starts": 5},
        "quick": {"creates": 10, "runs": 60, "rich_runs": 10, "idle_sessions": 32,
                  "kernel_starts": 2}}
# (key, code, the MIME type its answer must hold): the rich results of bench.py, run again in a
# session and in the Jupyter kernel, so that both stand beside each other in one run.
RICH = [("run_plot", bench.PLOT, "image/png"), ("run_dataframe", bench.DATAFRAME, "text/html")]

TARGETS = [
    ("create_p50_ms", "create a session p50 <= 10 ms", 10.0),
    ("run_print1_p50_ms", "print(1) in a session p50 <= 2 ms", 2.0),
    ("run_state_p50_ms", "x += 1 in a session p50 <= 2 ms", 2.0),
    ("idle_session_private_mb", "<= 5 MB private memory per idle session", 5.0),
]


def stats(samples_ms):
    return {"n": len(samples_ms), "p50_ms": bench.percentile(samples_ms, 50),
            "p99_ms": bench.percentile(samples_ms, 99)}


def request(client, method, path, body=b""):
    """One exchange on a bench Client's connection: (status, parsed body or None, seconds)."""
    if method == "POST":
        return client.post(path, body)
    req = (method.encode() + b" " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Content-Length: 0\r\n\r\n")
    if client.sock is None:
        client._connect()
    t0 = time.perf_counter()
    status, headers, data = client._exchange(req)
    elapsed = time.perf_counter() - t0
    if headers.get("connection", "").lower() == "close":
        client.close()
    try:
        return status, json.loads(data) if data else None, elapsed
    except ValueError:
        return status, None, elapsed


def create(client, body=b"{}"):
    status, doc, elapsed = request(client, "POST", b"/sessions", body)
    if status != 201:
        raise bench.ServerFailed("POST /sessions answered %d: %r" % (status, doc))
    return doc["id"], elapsed


def run_in(client, sid, code):
    status, doc, elapsed = request(client, "POST", b"/sessions/%s/run" % sid.encode(),
                                   json.dumps({"code": code}).encode())
    ok = status == 200 and doc is not None and doc.get("status") == "success"
    return ok, doc, elapsed


def children_private_kb(server_pid):
    """Private memory of every sleeping child of the server (pooled children and sessions)."""
    total, count = 0, 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        st = bench.proc_status(int(entry))
        if not st or st.get("PPid") != str(server_pid):
            continue
        if not st.get("State", "").startswith("S"):
            continue
        kb = bench.private_kb(int(entry))
        if kb is not None:
            total, count = total + kb, count + 1
    return total, count


def bench_pyrunner(binary, plan, workdir, res):
    server = bench.Server(binary, True, workdir, name="sessions")
    try:
        server.start()
        server.wait_pool_ready(60)
        client = bench.Client(server.port)

        samples, deletes = [], []
        for i in range(plan["creates"] + 2):
            server.wait_pool_ready(5)
            sid, elapsed = create(client)
            status, _, d = request(client, "DELETE", b"/sessions/" + sid.encode())
            if i >= 2:
                samples.append(elapsed * 1e3)
                deletes.append(d * 1e3)
        res["create"] = stats(samples)
        res["delete"] = stats(deletes)
        bench.log("   create p50 %.2f ms p99 %.2f ms; delete p50 %.2f ms" % (
            res["create"]["p50_ms"], res["create"]["p99_ms"], res["delete"]["p50_ms"]))

        sid, _ = create(client)
        run_in(client, sid, "x = 0")
        for key, code in (("run_print1", "print(1)"), ("run_state", "x += 1")):
            samples, bad = [], 0
            for i in range(plan["runs"] + 5):
                ok, doc, elapsed = run_in(client, sid, code)
                if ok and i >= 5:
                    samples.append(elapsed * 1e3)
                bad += 0 if ok else 1
            res[key] = dict(stats(samples), failed=bad)
            bench.log("   %s p50 %.2f ms p99 %.2f ms%s" % (
                key, res[key]["p50_ms"], res[key]["p99_ms"], ", %d failed" % bad if bad else ""))
        ok, doc, _ = run_in(client, sid, "print(x)")
        res["state_checked"] = ok and doc["stdout"] == "%d\n" % (plan["runs"] + 5)
        for key, code, mime in RICH:
            samples, bad = [], 0
            for i in range(plan["rich_runs"] + 3):
                ok, doc, elapsed = run_in(client, sid, code)
                ok = ok and any(mime in r.get("data", {}) for r in doc.get("results", []))
                if ok and i >= 3:
                    samples.append(elapsed * 1e3)
                bad += 0 if ok else 1
            res[key] = dict(stats(samples), failed=bad)
            bench.log("   %s p50 %.2f ms%s" % (key, res[key]["p50_ms"] or 0,
                                            ", %d failed" % bad if bad else ""))
        request(client, "DELETE", b"/sessions/" + sid.encode())

        n = plan["idle_sessions"]
        server.wait_pool_ready(10)
        before, before_count = children_private_kb(server.proc.pid)
        ids = []
        for _ in range(n):
            sid, _ = create(client)
            run_in(client, sid, "x = 1")
            ids.append(sid)
        server.wait_pool_ready(30)
        time.sleep(0.5)  # let the last runs' teardown finish: a report, not a test
        after, after_count = children_private_kb(server.proc.pid)
        res["idle_sessions"] = n
        res["idle_session_private_mb"] = (after - before) / 1024.0 / n
        res["children_counted"] = [before_count, after_count]
        bench.log("   %d idle sessions: %.2f MB private each (children %d -> %d)" % (
            n, res["idle_session_private_mb"], before_count, after_count))
        for sid in ids:
            request(client, "DELETE", b"/sessions/" + sid.encode())
        client.close()
    finally:
        server.stop()


def bench_jupyter(plan, res):
    try:
        from jupyter_client.manager import start_new_kernel
    except ImportError as e:
        res["error"] = "python3-jupyter-client / python3-ipykernel not installed (%s)" % e
        bench.log("   jupyter: %s" % res["error"])
        return

    def execute(kc, code, mime=None):
        """Whether the code ran (and, given `mime`, displayed that type); its time to the reply
        with every output received, as a notebook front end sees it."""
        seen = set()

        def hook(msg):
            if msg["msg_type"] in ("display_data", "execute_result"):
                seen.update(msg["content"].get("data", {}))

        t0 = time.perf_counter()
        reply = kc.execute_interactive(code, timeout=60, output_hook=hook)
        ok = reply["content"]["status"] == "ok" and (mime is None or mime in seen)
        return ok, time.perf_counter() - t0

    starts = []
    km = kc = None
    for i in range(plan["kernel_starts"]):
        t0 = time.perf_counter()
        # stderr: the kernel's debugger warns about frozen modules at every start
        km, kc = start_new_kernel(kernel_name="python3", startup_timeout=120,
                                  stderr=subprocess.DEVNULL)
        starts.append((time.perf_counter() - t0) * 1e3)
        if i < plan["kernel_starts"] - 1:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    res["start"] = stats(starts)
    bench.log("   jupyter kernel start p50 %.0f ms" % res["start"]["p50_ms"])
    try:
        execute(kc, "x = 0")
        for key, code in (("run_print1", "print(1)"), ("run_state", "x += 1")):
            samples = []
            for i in range(plan["runs"] + 5):
                ok, elapsed = execute(kc, code)
                if ok and i >= 5:
                    samples.append(elapsed * 1e3)
            res[key] = stats(samples)
            bench.log("   jupyter %s p50 %.2f ms" % (key, res[key]["p50_ms"]))
        for key, code, mime in RICH:
            samples, bad = [], 0
            for i in range(plan["rich_runs"] + 3):
                ok, elapsed = execute(kc, code, mime)
                if ok and i >= 3:
                    samples.append(elapsed * 1e3)
                bad += 0 if ok else 1
            res[key] = dict(stats(samples), failed=bad)
            bench.log("   jupyter %s p50 %.2f ms%s" % (key, res[key]["p50_ms"] or 0,
                                                    ", %d failed" % bad if bad else ""))
        execute(kc, "import numpy")
        pid = km.provisioner.process.pid if getattr(km, "provisioner", None) else None
        kb = bench.private_kb(pid) if pid else None
        res["idle_private_mb_with_numpy"] = kb / 1024.0 if kb is not None else None
        if kb is not None:
            bench.log("   jupyter kernel idle, numpy imported: %.1f MB private" % (kb / 1024.0))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def render(res):
    p, j = res.get("pyrunner", {}), res.get("jupyter", {})

    def get(d, *keys):
        for k in keys:
            d = d.get(k) if isinstance(d, dict) else None
        return d

    rows = [("create / start (p50 ms)", get(p, "create", "p50_ms"), get(j, "start", "p50_ms")),
            ("print(1) (p50 ms)", get(p, "run_print1", "p50_ms"), get(j, "run_print1", "p50_ms")),
            ("x += 1 (p50 ms)", get(p, "run_state", "p50_ms"), get(j, "run_state", "p50_ms")),
            ("line plot as PNG (p50 ms)", get(p, "run_plot", "p50_ms"),
             get(j, "run_plot", "p50_ms")),
            ("DataFrame as HTML (p50 ms)", get(p, "run_dataframe", "p50_ms"),
             get(j, "run_dataframe", "p50_ms")),
            ("idle private MB", p.get("idle_session_private_mb"),
             j.get("idle_private_mb_with_numpy"))]
    lines = ["", "sessions (same run)            pyrunner   jupyter kernel   ratio"]
    for title, a, b in rows:
        ratio = ("%.1fx" if b < 10 * a else "%.0fx") % (b / a) if a and b else "-"
        lines.append("  %-28s %8s   %14s   %5s" % (title, bench.fmt("%.2f", a),
                                                   bench.fmt("%.2f", b), ratio))
    lines.append("targets (sessions):")
    for t in res["targets"]:
        lines.append("  %-4s  %-46s measured %s" % (t["verdict"], t["label"],
                                                   bench.fmt("%.2f", t["measured"])))
    return "\n".join(lines)


def evaluate(res):
    p = res.get("pyrunner", {})
    flat = {"create_p50_ms": (p.get("create") or {}).get("p50_ms"),
            "run_print1_p50_ms": (p.get("run_print1") or {}).get("p50_ms"),
            "run_state_p50_ms": (p.get("run_state") or {}).get("p50_ms"),
            "idle_session_private_mb": p.get("idle_session_private_mb")}
    out = []
    for key, label, threshold in TARGETS:
        v = flat.get(key)
        out.append({"key": key, "label": label, "threshold": threshold, "measured": v,
                    "verdict": "n/a" if v is None else ("pass" if v <= threshold else "FAIL")})
    return out


def bench_sessions(binary, mode, workdir):
    """Every number of this module, as a dict (bench.py stores it under "sessions")."""
    plan = PLAN[mode]
    res = {"pyrunner": {}, "jupyter": {}}
    bench.log("== sessions: a warm server (pool 8)")
    bench_pyrunner(binary, plan, workdir, res["pyrunner"])
    bench.log("== sessions: the peer, a Jupyter kernel (ipykernel via jupyter_client)")
    bench_jupyter(plan, res["jupyter"])
    res["targets"] = evaluate(res)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(bench.REPO, "build", "pyrunner"))
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="pyrunner-bench-sessions-")
    res = bench_sessions(os.path.abspath(args.binary), "quick" if args.quick else "default",
                         workdir)
    print(render(res))
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
