# category: fork-bomb
# expect-status: success
# memory: 1024
# Fork until the kernel says no. pids.max (64 tasks per run) must stop us well before 64
# children. The children (named prsecd-fork) are left running on purpose: pyrunner must kill
# them when we exit, and the harness checks that none survives.
import ctypes
import errno
import os
import time


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


libc = ctypes.CDLL(None)
children, reason = [], "cap of 200 reached"
while len(children) < 200:
    try:
        pid = os.fork()
    except OSError as e:
        reason = errno.errorcode.get(e.errno, str(e.errno))
        break
    if pid == 0:
        libc.prctl(15, b"prsecd-fork", 0, 0, 0)  # PR_SET_NAME
        while True:
            time.sleep(60)
    children.append(pid)

if len(children) >= 64:
    say("ESCAPED", "fork:pids.max", f"{len(children)} children forked ({reason})")
else:
    say("BLOCKED", "fork:pids.max", f"fork refused after {len(children)} children: {reason}")
