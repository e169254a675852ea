# category: signals
# expect-status: success
# runs: 2
# kill(-1, sig) signals every process the caller may signal. Inside its own PID namespace
# that is at most the run's own processes (never the namespace's init), so the runner, the
# harness and other runs must all survive, and so must we: the run ends normally.
# SIGSTOP is followed by SIGCONT so that a supervisor inside the namespace, if any and if
# reachable, would show up as a hang (timeout) rather than be left frozen.
# Run twice, so that in serve mode a runner or pool hurt by the first run shows in the second.
import errno
import os
import signal
import time


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


def visible():
    try:
        return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    except OSError:
        return []


before = visible()
for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGSTOP, signal.SIGCONT, signal.SIGKILL):
    try:
        os.kill(-1, sig)
        result = "delivered"
    except OSError as e:
        result = ename(e.errno)
    say("BLOCKED", f"kill(-1,{sig.name})", f"{result}; we survived")
time.sleep(0.2)
after = visible()
say("INFO", "pids", f"before={before} after={after}")
