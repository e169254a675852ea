#!/usr/bin/python3
"""Which libraries belong in python.preload: what preloading costs every run against what it saves.

    /usr/bin/python3 bench/preload.py --binary build/pyrunner [--rounds N] [--out FILE]

1. For each candidate library, in fresh /usr/bin/python3 processes that have already imported
   the default preload (as a pooled child has): the median time of `import <it>` and the RSS
   it adds. That is what a run pays when the library is not preloaded.
2. For each candidate, a real server whose preload is the default plus that candidate: its
   zygote's RSS and mappings (every fork copies each mapping, every exit tears it down).
3. Paired rounds of real servers with the warm pool on, alternating the default preload and
   the default plus every candidate (so that the neighbours' load hits both alike): print(1)
   latency 30 ms apart, print(1) throughput with 8 clients (median of three 3 s windows), and
   the CPU per run of the zygote (the fork of the replacement child) and of the run itself.
   In the first round, the latency of `import <candidate>` in a run, for each candidate.

A report, not a test: it prints a table and writes every number as JSON. It reuses
bench/bench.py's server, client and measurements. Only the standard library is used.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

# The preload of the original six, which the candidates are measured against.
DEFAULT_PRELOAD = ["numpy", "pandas", "sympy", "scipy", "sklearn", "matplotlib",
                   "matplotlib.pyplot"]
# What code imports of each library (the module that pulls in the bulk of it).
CANDIDATES = ["seaborn", "statsmodels.api", "networkx", "openpyxl", "xlrd", "plotly.express",
              "bs4", "lxml.etree", "PIL.Image", "skimage", "xarray", "tabulate", "tqdm",
              "sqlalchemy", "requests", "pytz"]

# The decision (README, "Libraries"): the candidates that save >= 50 ms per run that imports
# them and add at most a few mappings to the zygote (mappings are what every fork copies).
CHOSEN = ["seaborn", "networkx", "plotly.express", "xarray", "sqlalchemy"]

IMPORT_COST = r"""
import importlib, json, sys, time
for m in %r:
    importlib.import_module(m)
def rss_kb():
    with open("/proc/self/status") as f:
        return int(next(l for l in f if l.startswith("VmRSS:")).split()[1])
before = rss_kb()
t0 = time.perf_counter()
importlib.import_module(sys.argv[1])
print(json.dumps({"ms": (time.perf_counter() - t0) * 1e3, "rss_mb": (rss_kb() - before) / 1024}))
"""


def import_cost(module, repeats):
    """Median ms and MB of importing `module` after the default preload, fresh processes."""
    ms, mb = [], []
    for _ in range(repeats):
        p = subprocess.run([bench.PYTHON, "-I", "-c", IMPORT_COST % (DEFAULT_PRELOAD,), module],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            return {"error": p.stderr.strip().splitlines()[-1:]}
        d = json.loads(p.stdout)
        ms.append(d["ms"])
        mb.append(d["rss_mb"])
    return {"import_ms": bench.median(ms), "rss_mb": bench.median(mb)}


class PreloadServer(bench.Server):
    """bench.Server with the pool on and a given python.preload."""

    def __init__(self, binary, workdir, name, preload):
        super().__init__(binary, True, workdir)
        self.name = name
        self.config_path = os.path.join(workdir, name + ".yaml")
        self.log_path = os.path.join(workdir, name + ".log")
        with open(self.config_path, "w") as f:
            f.write("# written by bench/preload.py\n"
                    "server: {max_concurrent_runs: 8, max_queue: 64, shutdown_grace: 2}\n"
                    "pool: {enabled: true, size: %d}\n"
                    "policy: {enabled: false}\n"
                    "python: {preload: %s}\n" % (self.pool_size, json.dumps(preload)))


def start(binary, workdir, name, preload, servers):
    server = PreloadServer(binary, workdir, name, preload)
    servers.append(server)
    server.start()
    server.wait_pool_ready(60)
    return server


def zygote_cost(binary, workdir, name, preload, servers):
    server = start(binary, workdir, name, preload, servers)
    m = bench.measure_memory(server, 30)
    server.stop()
    return {"zygote_rss_mb": m["zygote_rss_mb"], "zygote_vmas": m["zygote_vmas"],
            "idle_child_private_mb": m["idle_child_private_mb"]}


def measure_round(binary, workdir, name, preload, servers, imports):
    server = start(binary, workdir, name, preload, servers)
    res = {"memory": bench.measure_memory(server, 30)}
    server.wait_pool_ready(15)
    res["print1_paced_p50_ms"] = bench.measure_latency(server, bench.PRINT1, 60, 5, 6,
                                                       0.03)["p50_ms"]
    zygote = int(server.health()["pool"].get("zygote_pid") or 0)
    windows = []
    for _ in range(3):
        server.wait_pool_ready(15)
        windows.append(bench.measure_throughput(server, 8, 3.0, zygote))
    windows.sort(key=lambda w: w["runs_per_s"] or 0)
    mid = windows[1]
    res.update({"runs_per_s": mid["runs_per_s"],
                "zygote_ms_per_run": mid["cpu"]["zygote_ms_per_run"],
                "runs_ms_per_run": mid["cpu"]["runs_ms_per_run"],
                "others_busy_pct": mid["cpu"]["others_busy_pct"]})
    if imports:
        res["imports"] = {}
        for module in CANDIDATES:
            server.wait_pool_ready(15)
            r = bench.measure_latency(server, "import %s\nprint(1)" % module, 8, 1, 20)
            res["imports"][module] = r["p50_ms"]
    bench.log("   %-8s zygote RSS %.1f MB, %s mappings; print(1) paced p50 %.2f ms; 8 clients "
              "%.0f runs/s; CPU per run: zygote %.2f ms, run %.2f ms; others busy %.0f%%" %
              (name, res["memory"]["zygote_rss_mb"], res["memory"]["zygote_vmas"],
               res["print1_paced_p50_ms"], res["runs_per_s"], res["zygote_ms_per_run"] or 0,
               res["runs_ms_per_run"] or 0, res["others_busy_pct"] or 0))
    server.stop()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(bench.REPO, "build", "pyrunner"))
    ap.add_argument("--repeats", type=int, default=5, help="fresh processes per import cost")
    ap.add_argument("--rounds", type=int, default=3, help="paired server rounds")
    ap.add_argument("--against", choices=["all", "chosen"], default="all",
                    help="what the rounds compare with the default preload: every candidate "
                         "(all) or the ones the default config preloads (chosen)")
    ap.add_argument("--skip-costs", action="store_true",
                    help="skip the per-library import and zygote costs (steps 1 and 2)")
    ap.add_argument("--out", default=os.path.join(bench.REPO, "bench", "results",
                                                  "preload.json"))
    args = ap.parse_args()
    results = {"loadavg_before": bench.loadavg(), "import_cost": {}}
    if not args.skip_costs:
        bench.log("== import cost after the default preload (%d fresh processes each)" %
                  args.repeats)
        for module in CANDIDATES:
            results["import_cost"][module] = r = import_cost(module, args.repeats)
            bench.log("   %-16s %s" % (module, r))
    servers = []
    workdir = tempfile.mkdtemp(prefix="pyrunner-preload-")
    other = CANDIDATES if args.against == "all" else CHOSEN
    configs = {"default": DEFAULT_PRELOAD, "more": DEFAULT_PRELOAD + other}
    try:
        results["zygote"] = {"default": zygote_cost(args.binary, workdir, "z-default",
                                                    DEFAULT_PRELOAD, servers)}
        if not args.skip_costs:
            bench.log("== zygote cost of each candidate (default preload + it)")
            for module in CANDIDATES:
                results["zygote"][module] = r = zygote_cost(args.binary, workdir, "z-" + module,
                                                            DEFAULT_PRELOAD + [module], servers)
                bench.log("   %-16s %s" % (module, r))
        results["zygote"]["more"] = zygote_cost(args.binary, workdir, "z-more", configs["more"],
                                               servers)
        results["rounds"] = []
        for i in range(args.rounds):
            bench.log("== round %d of %d" % (i + 1, args.rounds))
            results["rounds"].append({name: measure_round(args.binary, workdir, name, preload,
                                                          servers, i == 0 and not args.skip_costs)
                                      for name, preload in configs.items()})
    finally:
        for s in servers:
            s.stop()
    results["loadavg_after"] = bench.loadavg()

    z, rounds = results["zygote"], results["rounds"]

    def med(name, key):
        return bench.median([r[name][key] for r in rounds if r[name].get(key) is not None])

    print("| | default preload | default + %s |" % (
        "%d candidates" % len(CANDIDATES) if args.against == "all" else ", ".join(CHOSEN)))
    print("|---|---|---|")
    print("| zygote RSS (MB) | %.0f | %.0f |" % (z["default"]["zygote_rss_mb"],
                                                z["more"]["zygote_rss_mb"]))
    print("| zygote mappings | %d | %d |" % (z["default"]["zygote_vmas"], z["more"]["zygote_vmas"]))
    print("| private MB per idle child | %.2f | %.2f |" % (
        z["default"]["idle_child_private_mb"], z["more"]["idle_child_private_mb"]))
    for title, key, spec in [("print(1) p50, 30 ms apart (ms)", "print1_paced_p50_ms", "%.2f"),
                             ("print(1) runs/s, 8 clients", "runs_per_s", "%.0f"),
                             ("zygote CPU per run (ms)", "zygote_ms_per_run", "%.2f"),
                             ("run's own CPU per run (ms)", "runs_ms_per_run", "%.2f")]:
        print("| %s, median of %d rounds (each: %s) | %s | %s |" % (
            title, len(rounds), ", ".join(
                (spec + "/" + spec) % (r["default"][key] or 0, r["more"][key] or 0)
                for r in rounds),
            spec % med("default", key), spec % med("more", key)))
    if args.skip_costs:
        return write(results, args.out)
    print()
    print("| import | fresh process after the stack: ms / MB | zygote +MB / +mappings "
          "| run p50 not preloaded (ms) | run p50 preloaded (ms) |")
    print("|---|---|---|---|---|")
    d, a = rounds[0]["default"]["imports"], rounds[0]["more"]["imports"]
    for module in CANDIDATES:
        c = results["import_cost"][module]
        zc = z[module]
        print("| `%s` | %s | %+.0f / %+d | %.1f | %.1f |" % (
            module, "%.0f / %.1f" % (c["import_ms"], c["rss_mb"]) if "import_ms" in c else c,
            zc["zygote_rss_mb"] - z["default"]["zygote_rss_mb"],
            zc["zygote_vmas"] - z["default"]["zygote_vmas"], d[module], a[module]))
    return write(results, args.out)


def write(results, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    bench.log("== written %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
