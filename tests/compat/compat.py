#!/usr/bin/python3
"""Compatibility harness: Debian's own copies of the stack's upstream tests, natively and in runs.

    /usr/bin/python3 tests/compat/compat.py [--fast] [--binary build/pyrunner] [--faces F,...]
                                            [--module SUBSTRING ...] [--json FILE]

For each module of SUITE (--fast: the FAST subset), tests/compat/driver.py runs pytest on the
module's file in /usr/lib/python3/dist-packages and reports every test's outcome. It runs:

  native  /usr/bin/python3 driver.py, as uid 65534 in a fresh home and working directory: a
          user on a Debian desktop;
  run     `pyrunner run --config <generous limits, policy off> driver.py` (the job on --stdin);
  pool    POST /run to one `pyrunner serve --port 0` with the same config (warm pool on).

It prints a summary per face and lists every test that passed natively and did not pass in a
run (failed, error, or missing). A test in EXPLAINED is such a failure with a known cause (a
limit the sandbox imposes on purpose); the README names each of them. Any other sandbox-only
failure makes the exit status 1. The last line reads "compat: N passed, M failed": N tests
that pass natively and in every sandbox face, M unexplained sandbox-only failures.

Only the standard library, plus pytest and hypothesis (deps/build-packages.txt) for the driver.
"""

import argparse
import collections
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DRIVER = os.path.join(HERE, "driver.py")
PYTHON = "/usr/bin/python3"
SITE = "/usr/lib/python3/dist-packages"
NOBODY = 65534

# Limits a run of one module gets: far above what any module needs, so that a failure is the
# sandbox's behaviour and not a limit (the limits themselves are tested elsewhere).
TIMEOUT_S = 300
MEMORY_MB = 4096
CONFIG = """\
# written by tests/compat/compat.py: generous limits, policy off (only the sandbox decides)
limits: {max_timeout: %(timeout)d, default_timeout: %(timeout)d, max_memory_mb: %(memory)d,
         default_memory_mb: %(memory)d, max_output_bytes: 67108864, max_stdin_bytes: 1048576}
sandbox: {tmp_size_mb: 1024, workdir_size_mb: 1024, pids_max: 512, max_open_files: 4096,
          max_file_size_mb: 2048}
policy: {enabled: false}
pool: {size: 1}
server: {max_concurrent_runs: 1}
""" % {"timeout": TIMEOUT_S, "memory": MEMORY_MB}

# pytest arguments for every module: the packages' own "fast" selection (numpy and scipy mark
# their slow tests; np.test() and scipy.test() leave them out by default too).
COMMON_ARGS = ["-m", "not slow and not xslow"]

# (path under dist-packages, in the fast subset). Modules are chosen for what ordinary code
# does: file I/O and text encodings, printing and locales, numerics, plotting to files.
SUITE = [
    ("numpy/lib/tests/test_io.py", False),
    ("numpy/lib/tests/test_loadtxt.py", True),
    ("numpy/core/tests/test_print.py", True),
    ("scipy/io/tests/test_mmio.py", True),
    ("scipy/optimize/tests/test_minimize_constrained.py", False),
    ("scipy/_lib/tests/test__util.py", False),
    ("numpy/core/tests/test_cpu_features.py", False),
    ("pandas/tests/io/formats/test_to_csv.py", True),
    ("pandas/tests/io/test_common.py", False),
    ("pandas/tests/io/parser/test_encoding.py", False),
    ("pandas/tests/io/test_compression.py", False),
    ("sympy/printing/tests/test_str.py", True),
    ("sympy/printing/pretty/tests/test_pretty.py", False),
    ("sympy/core/tests/test_arit.py", False),
    ("sklearn/datasets/tests/test_base.py", True),
    ("sklearn/feature_extraction/tests/test_text.py", False),
    ("sklearn/linear_model/tests/test_base.py", False),
    ("sklearn/utils/tests/test_parallel.py", False),
    ("matplotlib/tests/test_backend_pdf.py", True),
    ("matplotlib/tests/test_rcparams.py", False),
    ("matplotlib/tests/test_font_manager.py", False),
    ("matplotlib/tests/test_text.py", False),
    ("matplotlib/tests/test_matplotlib.py", False),
]

# Tests that pass natively and fail in a run because of a limit the sandbox sets on purpose:
# test id -> the limit. The README ("Compatibility") names each one with the same reason.
EXPLAINED = {
}

FACES = ("native", "run", "pool")
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def job_for(path):
    # rootdir dist-packages: test ids name their package (numpy/lib/tests/test_io.py::...), and
    # every conftest.py from the package's top down is loaded, as in the package's own runs.
    return {"path": os.path.join(SITE, path), "rootdir": SITE, "args": COMMON_ARGS}


def parse_driver_output(text, what):
    """The driver's lines (see driver.py) as {"tests", "reasons", "durations", "exit", "crash",
    "seconds"}. A run that ended early (timeout, crash) keeps the tests that ended; the one it
    was in is "timeout", with `what` (why the run ended) as its reason."""
    res = {"exit": None, "crash": None, "seconds": None, "tests": {}, "reasons": {},
           "durations": {}}
    current, ended = None, False
    for line in text.splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue  # a test wrote to the real stdout itself
        if not isinstance(d, dict):
            continue
        if "start" in d:
            current = d["start"]
        elif "test" in d:
            res["tests"][d["test"]] = d["outcome"]
            if d.get("reason"):
                res["reasons"][d["test"]] = d["reason"]
            res["durations"][d["test"]] = d.get("seconds", 0)
            current = None
        elif "exit" in d:
            res.update(exit=d["exit"], crash=d["crash"], seconds=d["seconds"])
            ended = True
    if not ended:
        res["crash"] = what + (" (in %s)" % current if current else "")
        if current:
            res["tests"][current] = "timeout"
            res["reasons"][current] = what
    return res


# ------------------------------------------------------------------------------------------
# the three faces


def as_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def run_native(path, workdir):
    """driver.py as uid 65534 with a fresh home as its working directory, as a user would."""
    home = tempfile.mkdtemp(prefix="native-", dir=workdir)
    os.chown(home, NOBODY, NOBODY)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8",
           "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        p = subprocess.run([PYTHON, DRIVER], input=json.dumps(job_for(path)), env=env, cwd=home,
                           capture_output=True, text=True, timeout=TIMEOUT_S + 60,
                           preexec_fn=as_nobody)
        return parse_driver_output(p.stdout, "native: exit %d %s" % (p.returncode,
                                                                      p.stderr[-300:]))
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return parse_driver_output(out, "native: timed out after %d s" % TIMEOUT_S)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run_sandbox_result(result, what):
    """The driver's output from a pyrunner result, or why the run did not give one."""
    if not isinstance(result, dict):
        return parse_driver_output("", "%s: no result" % what)
    out = parse_driver_output(result.get("stdout", ""), "%s: %s (%s)%s" % (
        what, result.get("status"), result.get("error"),
        ", stderr: " + result["stderr"][-300:] if result.get("stderr") else ""))
    out["status"] = result.get("status")
    return out


def run_cli(binary, config, path, workdir):
    job = os.path.join(workdir, "job.json")
    with open(job, "w") as f:
        json.dump(job_for(path), f)
    p = subprocess.run([binary, "run", "--config", config, "--stdin", job, DRIVER],
                       capture_output=True, text=True, timeout=TIMEOUT_S + 60)
    try:
        result = json.loads(p.stdout)
    except ValueError:
        result = None
    return run_sandbox_result(result, "run exit %d %s" % (p.returncode, p.stderr.strip()[-300:]))


class Server:
    """`pyrunner serve --port 0` that we started; stopped by its pid only."""

    def __init__(self, binary, config, workdir):
        self.log_path = os.path.join(workdir, "serve.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary, "serve", "--port", "0", "--config", config],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.port = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.proc.poll() is None:
            with open(self.log_path, "rb") as f:
                m = re.search(rb"listening on http://[0-9.]+:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                return
            time.sleep(0.1)  # start-up is seconds of preloading; its log line is the event
        raise RuntimeError("serve did not start:\n" + open(self.log_path).read()[-2000:])

    def run(self, code, stdin):
        body = json.dumps({"code": code, "stdin": stdin, "timeout": TIMEOUT_S,
                           "memory_limit": MEMORY_MB})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S + 60)
        try:
            conn.request("POST", "/run", body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            return json.loads(data) if resp.status == 200 else {
                "status": "HTTP %d" % resp.status, "error": data.decode()[:300]}
        finally:
            conn.close()

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


# ------------------------------------------------------------------------------------------
# comparison and report


def counts(result):
    c = collections.Counter(result["tests"].values())
    return {o: c.get(o, 0) for o in OUTCOMES}


def sandbox_only_failures(results):
    """[(face, module, test id, outcome in that face, reason)] for tests that passed natively."""
    rows = []
    for module, faces in results.items():
        native = faces["native"]["tests"]
        for face in FACES[1:]:
            if face not in faces:
                continue
            got = faces[face]
            for test, outcome in sorted(native.items()):
                if outcome != "passed":
                    continue
                theirs = got["tests"].get(test, "missing")
                if theirs in ("passed", "xpassed"):
                    continue
                reason = got["reasons"].get(test) or got.get("crash") or "did not run"
                rows.append((face, module, test, theirs, reason))
    return rows


def summary_table(results, faces):
    header = "| module | " + " | ".join(faces) + " |"
    lines = [header, "|---" * (len(faces) + 1) + "|"]
    totals = {f: collections.Counter() for f in faces}
    for module, res in results.items():
        cells = []
        for face in faces:
            if face not in res:
                cells.append("-")
                continue
            c = counts(res[face])
            totals[face].update(c)
            cell = "%d passed, %d failed, %d skipped" % (
                c["passed"] + c["xpassed"], c["failed"] + c["error"], c["skipped"] + c["xfailed"])
            if res[face].get("crash"):
                cell += " (crash: %s)" % res[face]["crash"][:80]
            cells.append(cell + ", %.0f s" % (res[face].get("seconds") or 0))
        lines.append("| `%s` | %s |" % (module, " | ".join(cells)))
    lines.append("| **total** | %s |" % " | ".join(
        "%d passed, %d failed, %d skipped" % (
            t["passed"] + t["xpassed"], t["failed"] + t["error"], t["skipped"] + t["xfailed"])
        for t in (totals[f] for f in faces)))
    return "\n".join(lines)


def readme_names_explained():
    """Every EXPLAINED test is named in README.md, so the README stays true."""
    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    return [t for t in EXPLAINED if t not in readme]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(REPO, "build", "pyrunner"))
    ap.add_argument("--fast", action="store_true", help="only the fast subset (make test)")
    ap.add_argument("--faces", default=",".join(FACES), help="native,run,pool (native always)")
    ap.add_argument("--module", action="append", default=[],
                    help="only modules whose path contains this (repeatable)")
    ap.add_argument("--json", help="write every outcome to this file")
    args = ap.parse_args()
    faces = ["native"] + [f for f in args.faces.split(",") if f in FACES[1:]]
    binary = os.path.abspath(args.binary)
    modules = [m for m, fast in SUITE if (fast or not args.fast) and
               (not args.module or any(s in m for s in args.module))]
    missing = [m for m in modules if not os.path.isfile(os.path.join(SITE, m))]
    if missing:
        log("compat: not installed: %s (make deps)" % ", ".join(missing))
        return 2

    workdir = tempfile.mkdtemp(prefix="pyrunner-compat-")
    os.chmod(workdir, 0o755)
    config = os.path.join(workdir, "compat.yaml")
    with open(config, "w") as f:
        f.write(CONFIG)
    with open(DRIVER) as f:
        driver_code = f.read()
    results = collections.OrderedDict()
    server = None
    t0 = time.monotonic()
    try:
        if "pool" in faces:
            server = Server(binary, config, workdir)
        for module in modules:
            res = results[module] = {}
            for face in faces:
                t = time.monotonic()
                if face == "native":
                    res[face] = run_native(module, workdir)
                elif face == "run":
                    res[face] = run_cli(binary, config, module, workdir)
                else:
                    res[face] = run_sandbox_result(
                        server.run(driver_code, json.dumps(job_for(module))), "pool")
                c = counts(res[face])
                log("%-52s %-6s %4d passed %3d failed %3d skipped  %5.1f s%s" % (
                    module, face, c["passed"] + c["xpassed"], c["failed"] + c["error"],
                    c["skipped"] + c["xfailed"], time.monotonic() - t,
                    "  CRASH " + res[face]["crash"][:200] if res[face].get("crash") else ""))
    finally:
        if server:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print("## compat: %d modules, %.0f s\n" % (len(modules), time.monotonic() - t0))
    print(summary_table(results, faces))
    rows = sandbox_only_failures(results)
    unexplained = [r for r in rows if r[2] not in EXPLAINED]
    print("\n### passed natively, not in a run (%d; %d explained)\n" % (
        len(rows), len(rows) - len(unexplained)))
    for face, module, test, outcome, reason in rows:
        why = EXPLAINED.get(test)
        print("- [%s] `%s`: %s%s" % (face, test, outcome,
                                    " (explained: %s)" % why if why else ": " + reason))
    stale = readme_names_explained()
    for test in stale:
        print("README.md does not name the explained test %s" % test)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    # Passing natively and in every sandbox face that ran.
    agree = sum(1 for m, res in results.items() for t, o in res["native"]["tests"].items()
                if o == "passed" and all(res[f]["tests"].get(t) in ("passed", "xpassed")
                                         for f in faces[1:]))
    native_crash = [m for m, res in results.items() if res["native"].get("crash")]
    for m in native_crash:
        print("native run of %s crashed: %s" % (m, results[m]["native"]["crash"]))
    print("compat: %d passed, %d failed" % (agree, len(unexplained) + len(stale) +
                                           len(native_crash)))
    return 1 if unexplained or stale or native_crash else 0


if __name__ == "__main__":
    sys.exit(main())
