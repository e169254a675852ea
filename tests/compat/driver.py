"""Runs one upstream test module with pytest and reports every test's outcome, one JSON line each.

The same file runs natively (/usr/bin/python3 driver.py) and inside a pyrunner run (as the
run's code), so both sides run exactly the same program. Its job comes on stdin as JSON:
{"path": "/usr/lib/python3/dist-packages/numpy/lib/tests/test_io.py", "rootdir": "...",
 "args": [...]}. pytest's own terminal output goes to /dev/null. On the original stdout:

  {"start": ID}                                          a test begins
  {"test": ID, "outcome": ..., "reason": ..., "seconds": ...}  it ended
  {"exit": CODE, "crash": null | "...", "seconds": ...}  last, when pytest returned

so that a run killed by its timeout still tells which tests ended, and which one it was in.
"""

import json
import os
import sys
import time

sys.dont_write_bytecode = True  # never write __pycache__ into the read-only (or system) tree

job = json.loads(sys.stdin.read())

import pytest  # noqa: E402  (after the job is read)

MAX_REASON = 300
OUT = os.dup(1)  # the real stdout; fds 1 and 2 go to /dev/null below


def emit(**fields):
    os.write(OUT, (json.dumps(fields) + "\n").encode())


def reason_of(report):
    """The one-line reason of a failure: the exception's message, else the last line."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    return (lines[0] if crash is not None else lines[-1])[:MAX_REASON]


class Report:
    """One outcome per test id: passed, failed, error (setup/teardown), skipped, xfailed,
    xpassed. A failure in any phase wins over what the other phases said."""

    def __init__(self):
        self.outcome, self.reason, self.seconds = {}, {}, {}

    def record(self, nodeid, outcome, reason=""):
        if self.outcome.get(nodeid) in ("failed", "error"):
            return
        self.outcome[nodeid] = outcome
        if reason:
            self.reason[nodeid] = reason

    def pytest_runtest_logstart(self, nodeid, location):
        emit(start=nodeid)

    def pytest_runtest_logreport(self, report):
        self.seconds[report.nodeid] = self.seconds.get(report.nodeid, 0) + report.duration
        xfail = hasattr(report, "wasxfail")
        if report.failed:
            self.record(report.nodeid, "failed" if report.when == "call" else "error",
                        reason_of(report))
        elif report.skipped:
            if report.nodeid not in self.outcome:
                self.record(report.nodeid, "xfailed" if xfail else "skipped")
        elif report.when == "call":
            self.record(report.nodeid, "xpassed" if xfail else "passed")

    def pytest_runtest_logfinish(self, nodeid, location):
        emit(test=nodeid, outcome=self.outcome.get(nodeid, "error"),
             reason=self.reason.get(nodeid, ""), seconds=round(self.seconds.get(nodeid, 0), 3))

    def pytest_collectreport(self, report):
        if report.failed:
            emit(test=report.nodeid or job["path"], outcome="error", reason=reason_of(report),
                 seconds=0)


devnull = os.open(os.devnull, os.O_WRONLY)
os.dup2(devnull, 1)
os.dup2(devnull, 2)
start = time.time()
try:
    code = pytest.main([job["path"], "--rootdir", job["rootdir"], "-p", "no:cacheprovider",
                        "-q", "--tb=short", "-o", "addopts="] + job.get("args", []),
                       plugins=[Report()])
    crash = None
except BaseException as e:  # SystemExit from a test module, KeyboardInterrupt, ...
    code, crash = -1, "%s: %s" % (type(e).__name__, e)
emit(exit=int(code), crash=crash, seconds=round(time.time() - start, 2))
