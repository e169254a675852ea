# category: signals
# expect-status: success
# runs: 2
# SIGKILL and SIGSTOP to pid 1. In a PID namespace pid 1 is its init (us or pyrunner's
# tiny init): the kernel ignores these signals from inside the namespace, or refuses them
# (EPERM) if init runs as another user. Never the host's init. Only uncatchable signals are
# sent, so the outcome does not depend on handlers that init may install.
# Run twice, so that in serve mode a runner or pool hurt by the first run shows in the second.
import errno
import os
import signal
import time


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


say("INFO", "pid", f"getpid={os.getpid()}")
for sig in (signal.SIGKILL, signal.SIGSTOP):
    try:
        os.kill(1, sig)
        result = "delivered"
    except OSError as e:
        result = ename(e.errno)
    time.sleep(0.1)
    try:
        os.kill(1, 0)
        alive = "pid 1 still alive"
    except ProcessLookupError:
        alive = "pid 1 gone"
    except PermissionError:
        alive = "pid 1 exists (not ours)"
    say("BLOCKED", f"kill(1,{sig.name})", f"{result}; {alive}")
try:
    os.kill(1, signal.SIGCONT)
except OSError:
    pass
