# category: signals
# expect-status: success
# runs: 2
# Killing our parent. Seen from inside the namespace the parent is either outside it
# (getppid() == 0: unreachable) or the namespace's init (SIGKILL ignored or EPERM). A parent
# that is an ordinary same-user process inside the namespace (a supervisor that dies on
# SIGKILL) would be a hole: then the signal is delivered and the parent changes.
# Run twice, so that in serve mode a runner or pool hurt by the first run shows in the second.
import errno
import os
import signal
import time


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


ppid = os.getppid()
say("INFO", "ppid", str(ppid))
if ppid == 0:
    say("BLOCKED", "kill(parent)", "parent is outside our PID namespace (getppid() == 0)")
else:
    # Never os.kill(0, ...): that would be our own process group.
    try:
        os.kill(ppid, signal.SIGKILL)
        result = "delivered"
    except OSError as e:
        result = ename(e.errno)
    time.sleep(0.2)
    now = os.getppid()
    if now != ppid:
        say("ESCAPED", "kill(parent)", f"parent {ppid} killed ({result}), reparented to {now}")
    else:
        say("BLOCKED", "kill(parent)", f"{result}; parent {ppid} survived")
