# category: limits
# expect-status: success
# Scheduling privileges: a negative nice value, real-time policies (a SCHED_FIFO task is not
# throttled by the cgroup's cpu.max and can starve the host) and real-time I/O priority all
# need capabilities the run does not have.
import ctypes
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


try:
    os.setpriority(os.PRIO_PROCESS, 0, -10)
    say("ESCAPED", "setpriority(-10)", "negative nice value set")
    os.setpriority(os.PRIO_PROCESS, 0, 0)
except OSError as e:
    say("BLOCKED", "setpriority(-10)", ename(e.errno))

for name in ("SCHED_FIFO", "SCHED_RR"):
    policy = getattr(os, name)
    try:
        os.sched_setscheduler(0, policy, os.sched_param(1))
        say("ESCAPED", f"sched_setscheduler({name})", "real-time scheduling granted")
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    except OSError as e:
        say("BLOCKED", f"sched_setscheduler({name})", ename(e.errno))

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
IOPRIO_WHO_PROCESS, IOPRIO_CLASS_RT, IOPRIO_CLASS_SHIFT = 1, 1, 13
ctypes.set_errno(0)
r = libc.syscall(ctypes.c_long(251), ctypes.c_long(IOPRIO_WHO_PROCESS), ctypes.c_long(0),
                 ctypes.c_long(IOPRIO_CLASS_RT << IOPRIO_CLASS_SHIFT))  # ioprio_set
if r == 0:
    say("ESCAPED", "ioprio_set(RT)", "real-time I/O priority granted")
else:
    say("BLOCKED", "ioprio_set(RT)", ename(ctypes.get_errno()))
