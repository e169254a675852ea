# category: leakage
# expect-status: success
# runs: 2
# System V shared memory, message queues, semaphores and POSIX message queues live in the
# IPC namespace: with a private one per run, run 2 cannot find what run 1 created under a
# fixed key. A leaked object that is found is removed, so a broken sandbox is not left
# littered; objects made in a private namespace vanish with it.
import ctypes
import errno


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def sysc(nr, *args):
    cargs = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *cargs)
    return r, (ctypes.get_errno() if r == -1 else 0)


KEY, IPC_CREAT, IPC_EXCL, IPC_RMID = 0x50525345, 0o1000, 0o2000, 0
OBJECTS = [  # name, get syscall, extra args, ctl syscall
    ("shm", 29, (4096,), 31),
    ("msg", 68, (), 71),
    ("sem", 64, (1,), 66),
]
for name, get, extra, ctl in OBJECTS:
    args = (KEY,) + extra
    r, e = sysc(get, *args, 0o600)
    if r >= 0:
        say("ESCAPED", f"leak:sysv-{name}", f"object of an earlier run found (id {r})")
        if name == "sem":
            sysc(ctl, r, 0, IPC_RMID, 0)
        else:
            sysc(ctl, r, IPC_RMID, None)
        continue
    say("BLOCKED", f"leak:sysv-{name}", errno.errorcode.get(e, str(e)))
    r, e = sysc(get, *args, IPC_CREAT | IPC_EXCL | 0o600)
    say("INFO", f"leak:sysv-{name}", "marker created" if r >= 0 else "could not create: " + errno.errorcode.get(e, str(e)))

O_RDONLY, O_CREAT = 0, 0o100
name = b"prsec_leak_mq"  # the raw syscall takes the name without glibc's leading slash
r, e = sysc(240, name, O_RDONLY, 0o600, None)  # mq_open
if r >= 0:
    say("ESCAPED", "leak:posix-mq", "queue of an earlier run found")
    sysc(241, name)  # mq_unlink
else:
    say("BLOCKED", "leak:posix-mq", errno.errorcode.get(e, str(e)))
    r, e = sysc(240, name, O_CREAT, 0o600, None)
    say("INFO", "leak:posix-mq", "marker created" if r >= 0 else "could not create: " + errno.errorcode.get(e, str(e)))
