#!/usr/bin/python3
"""Checks a deployed `pyrunner serve` over HTTP, as its users would: `make test-docker` points
it at the container and the compose service, `make test-cgroup2` at the systemd service in
the VM. Standard library only (it also runs inside the VM image).

  check_server.py --url URL [--wait S] [--cgroup v2|v1] [--cgroup-parent PATH]
                  [--pool-mode warm|plain|cold] [--fallback TEXT] [--reused-cgroups]
                  [--corpus NAME ...] [--secret TEXT]

Prints one PASS or FAIL line per check and exits 1 unless all pass:
- GET / answers 200 "ok" (waiting up to --wait s for start-up); the cgroup version and
  directory, the pool's mode and fallback reason are the expected ones;
- the six classic cases of examples/client.py (print, sympy, numpy, an exception, a timeout,
  memory_exceeded for an untouched allocation), plus a touched allocation past the limit, a
  fork bomb stopped by the static policy, memory_used of a run being its own; a session
  (state, its files listed and read back: the server reads them as a container's root);
- with --corpus, those programs of tests/security (the server must have the static policy
  off), judged by their headers as tests/security/corpus_test.cc does: the status (and
  error), no ESCAPED line, a BLOCKED line where the status is success, the --secret nowhere.
"""

import argparse
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "examples"))
import client  # noqa: E402  (examples/client.py: the documented client)

passed = failures = 0


def report(ok, name, detail=""):
    global passed, failures
    passed += bool(ok)
    failures += not ok
    print("%s %s%s" % ("PASS" if ok else "FAIL", name, (": " + detail) if detail else ""),
          flush=True)
    return ok


def wait_healthy(url, seconds):
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            h = client.health(url)
            if h.get("status") == "ok" and h["pool"].get("zygote_pid", -1) > 0:
                return h
            last = "status %s, pool %s" % (h.get("status"), h.get("pool"))
        except client.PyRunnerError as e:
            last = str(e)
        time.sleep(1)
    report(False, "GET / healthy within %d s" % seconds, last)
    return None


def check_health(h, args):
    report(True, "GET / healthy", "status ok, pool %s" % json.dumps(h["pool"]))
    cgroup = h["isolation"]["cgroup"]
    if args.cgroup:
        report(cgroup.startswith(args.cgroup + " ("), "the server uses cgroup " + args.cgroup,
               cgroup)
    if args.cgroup_parent:
        parent = "v2 (" + args.cgroup_parent.rstrip("/")
        report(cgroup.startswith(parent) and cgroup[len(parent):][:1] in (")", ","),
               "its run cgroups are made in " + args.cgroup_parent, cgroup)
    if args.reused_cgroups:
        report("run cgroups reused" in cgroup, "run cgroups are reused (memory.peak reset)",
               cgroup)
    pool = h["pool"]
    if args.pool_mode:
        report(pool.get("mode") == args.pool_mode, "pool mode " + args.pool_mode,
               "mode %s, fallback %s" % (pool.get("mode"), pool.get("fallback")))
        if args.pool_mode == "warm":
            report(pool.get("fallback") is None, "no start-up fallback", str(pool.get("fallback")))
    if args.fallback:
        report(args.fallback in (pool.get("fallback") or ""), "the fallback says why",
               str(pool.get("fallback")))


def expect(url, name, code, status, contains=None, **kwargs):
    try:
        r = client.run(code, base_url=url, **kwargs)
    except client.PyRunnerError as e:
        return report(False, name, str(e))
    ok = r.get("status") == status
    detail = "status %s, error %s, %.1f MB, %.2f s" % (
        r.get("status"), r.get("error"), r.get("memory_used") or 0, r.get("execution_time") or 0)
    for field, text in (contains or {}).items():
        ok = ok and text in (r.get(field) or "")
    report(ok, name, detail)
    return r


def check_classic_cases(url):
    for name, status, code, kwargs in client.CASES:
        expect(url, "classic case: " + name, code, status, **kwargs)
    expect(url, "a touched allocation past the limit is memory_exceeded",
           "import numpy as np\na = np.ones((1000, 1000, 100))\nprint(a.sum())",
           "memory_exceeded", memory_limit=256)
    expect(url, "a fork bomb is stopped by the static policy",
           "import os\nwhile True:\n    os.fork()", "error",
           {"error": "Import of 'os' is not allowed"})
    small = expect(url, "memory_used of a print is its own", "print(1)", "success")
    big = expect(url, "memory_used of a 150 MB bytearray",
                 "x = bytearray(150 << 20)\nx[::4096] = b'y' * len(x[::4096])\nprint(1)",
                 "success")
    if isinstance(small, dict) and isinstance(big, dict):
        report(small["memory_used"] < 30 and big["memory_used"] > 140,
               "memory_used counts the run, not the zygote",
               "%.1f MB and %.1f MB" % (small["memory_used"], big["memory_used"]))


def check_session(url):
    """A session as examples/client.py's Session uses it: state across runs, a file the code
    wrote listed and read back through the files routes, the session ended by close()."""
    try:
        with client.Session(url, files={"in.txt": "given"}) as s:
            s.run("x = 41")
            out = s.run("print(x + 1)\nopen('r.txt', 'w').write('made')")
            report(out["stdout"] == "42\n", "a session keeps its state", repr(out["stdout"]))
            paths = [f["path"] for f in s.files()]
            report(paths == ["in.txt", "r.txt"], "a session's files are listed", repr(paths))
            got = (s.read("in.txt"), s.read("r.txt"))
            report(got == (b"given", b"made"), "a session's files are read back", repr(got))
        try:
            s.run("1")
            report(False, "a closed session answers 410", "it ran")
        except client.PyRunnerError as e:
            report(e.status == 410, "a closed session answers 410", str(e))
    except client.PyRunnerError as e:
        report(False, "sessions", str(e))


HEADER = re.compile(r"^# ([a-z][a-z0-9-]*): (.*)$")


def corpus_program(name):
    path = os.path.join(REPO, "tests", "security", name if name.endswith(".py") else name + ".py")
    with open(path) as f:
        code = f.read()
    header = {}
    for line in code.splitlines():
        m = HEADER.match(line)
        if not m:
            break
        header[m.group(1)] = m.group(2)
    return os.path.basename(path), code, header


# Header keys this checker cannot honour: they need the harness's view of the host
# (tests/security/corpus_test.cc). Programs with them are left to `make test`.
HOST_SIDE_KEYS = ("compare-host", "concurrent-activity")


def all_corpus_programs():
    folder = os.path.join(REPO, "tests", "security")
    return sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py") and "_" in f)


def check_corpus(url, names, secret):
    for name in names:
        file, code, h = corpus_program(name)
        if any(k in h for k in HOST_SIDE_KEYS):
            print("SKIP corpus %s: needs the harness on the host (%s)" %
                  (file, ", ".join(k for k in HOST_SIDE_KEYS if k in h)), flush=True)
            continue
        runs = int(h.get("runs", "1"))
        outputs = set()
        for i in range(runs):
            label = "corpus %s%s" % (file, " run %d" % (i + 1) if runs > 1 else "")
            try:
                r = client.run(code, base_url=url, timeout=int(h.get("timeout", "10")),
                               memory_limit=int(h.get("memory", "256")))
            except client.PyRunnerError as e:
                report(False, label, str(e))
                continue
            lines = (r.get("stdout") or "").splitlines()
            problems = []
            if r.get("status") != h["expect-status"]:
                problems.append("status %s, expected %s" % (r.get("status"), h["expect-status"]))
            if "expect-error" in h and r.get("error") != h["expect-error"]:
                problems.append("error %r, expected %r" % (r.get("error"), h["expect-error"]))
            problems += [line for line in lines if "ESCAPED" in line]
            if h["expect-status"] == "success" and not any(l.startswith("BLOCKED ") for l in lines):
                problems.append("no BLOCKED line: the program did not get to try")
            if secret and secret in json.dumps(r):
                problems.append("the secret is in the result")
            if h.get("expect-truncated") == "true" and not r.get("truncated"):
                problems.append("not truncated")
            outputs.add(r.get("stdout"))
            report(not problems, label, "; ".join(problems) or "status %s" % r.get("status"))
        if h.get("runs-differ") == "true":
            report(len(outputs) == runs, "corpus %s: its %d runs differ" % (file, runs))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default=client.DEFAULT_URL)
    p.add_argument("--wait", type=int, default=300, help="seconds to wait for GET / (start-up)")
    p.add_argument("--cgroup", choices=["v1", "v2"])
    p.add_argument("--cgroup-parent", help="the directory the server makes its run cgroups in")
    p.add_argument("--reused-cgroups", action="store_true")
    p.add_argument("--pool-mode", choices=["warm", "plain", "cold"])
    p.add_argument("--fallback", help="text the pool's fallback reason must contain")
    p.add_argument("--corpus", nargs="*", default=[], help="tests/security programs to run")
    p.add_argument("--corpus-all", action="store_true", help="every program of tests/security")
    p.add_argument("--corpus-skip", nargs="*", default=[], help="programs --corpus-all leaves out")
    p.add_argument("--secret", help="a value of the server's environment no run may see")
    p.add_argument("--skip-classic", action="store_true")
    args = p.parse_args()

    h = wait_healthy(args.url, args.wait)
    if h is None:
        return 1
    check_health(h, args)
    if not args.skip_classic:
        check_classic_cases(args.url)
        check_session(args.url)
    corpus = args.corpus
    if args.corpus_all:
        corpus = [n for n in all_corpus_programs() if n not in args.corpus_skip]
    check_corpus(args.url, corpus, args.secret)
    print("%d passed, %d failed" % (passed, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
