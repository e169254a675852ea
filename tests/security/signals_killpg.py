# category: signals
# expect-status: success
# runs: 2
# Process-group signals. If our process group is led by a process outside the namespace
# (getpgrp() == 0, e.g. no setsid() in the runner), kill(0, sig) reaches every member of that
# group we may signal, wherever it lives. We leave that group first and let a child that stays
# in it SIGKILL the whole group: pyrunner (another user, or not in the group) must survive,
# which the harness sees as this run ending normally. Also signals the groups of pid 1 and
# of our parent (never our own group, never group 0). Run twice: through `serve` with the
# pool, pre-forked children of other runs share that group and uid 65534, and the second
# run then fails if the first one killed them.
import errno
import os
import signal


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


pgid, sid = os.getpgrp(), os.getsid(0)
say("INFO", "groups", f"pid={os.getpid()} pgid={pgid} sid={sid}")

if pgid != 0:
    say("BLOCKED", "killpg(outer-group)", "our process group is led inside the namespace")
else:
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(w)
        if os.read(r, 1) == b"k":
            try:
                os.kill(0, signal.SIGKILL)  # the old group: this child and whatever shares it
            except OSError:
                pass
        os._exit(0)
    os.close(r)
    try:
        os.setpgid(0, 0)
        os.write(w, b"k")
        left = True
    except OSError as e:
        os.write(w, b"n")
        left = False
        reason = ename(e.errno)
    os.close(w)
    _, status = os.waitpid(child, 0)
    if left:
        say("BLOCKED", "killpg(outer-group)",
            f"outer group SIGKILLed by a child (status {status:#x}); we survived")
    else:
        say("BLOCKED", "killpg(outer-group)", f"could not leave the outer group ({reason}); not signalled")

mine = os.getpgrp()
targets = set()
for pid in (1, os.getppid()):
    if pid and pid != os.getpid():
        try:
            targets.add(os.getpgid(pid))
        except OSError:
            pass
for target in sorted(targets - {0, mine}):
    try:
        os.killpg(target, signal.SIGKILL)
        result = "delivered"
    except OSError as e:
        result = ename(e.errno)
    say("BLOCKED", f"killpg({target})", f"{result}; we survived")
