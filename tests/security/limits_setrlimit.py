# category: limits
# expect-status: success
# Resource limits cannot be raised above their hard limits, the hard limits pyrunner sets
# are in place (NOFILE <= 256, FSIZE <= 64 MB, CORE 0), core dumps cannot be re-enabled,
# and the limits of other processes (pid 1, our parent) cannot be changed with prlimit.
import ctypes
import errno
import os
import resource


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


INF = resource.RLIM_INFINITY
NAMES = [n for n in ("RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE",
                     "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",
                     "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
                     "RLIMIT_RTPRIO", "RLIMIT_RTTIME") if hasattr(resource, n)]
limits = {}
for name in NAMES:
    res = getattr(resource, name)
    soft, hard = resource.getrlimit(res)
    limits[name] = (soft, hard)
    say("INFO", f"rlimit:{name}", f"soft={soft} hard={hard}")
    if hard == INF:
        continue
    try:
        resource.setrlimit(res, (hard + 1, hard + 1))
        say("ESCAPED", f"raise:{name}", f"hard limit raised above {hard}")
    except (ValueError, OSError) as e:
        say("BLOCKED", f"raise:{name}", str(e))

for name, most in (("RLIMIT_NOFILE", 256), ("RLIMIT_FSIZE", 64 << 20)):
    hard = limits[name][1]
    if hard == INF or hard > most:
        say("ESCAPED", f"hard:{name}", f"hard limit {hard} above {most}: the soft limit can be raised to it")
    else:
        say("BLOCKED", f"hard:{name}", f"hard limit {hard}")

# Core dumps go wherever kernel.core_pattern says, possibly a host helper: the hard limit
# must be 0, or the process must not be able to make itself dumpable.
libc = ctypes.CDLL(None, use_errno=True)
soft, hard = limits["RLIMIT_CORE"]
if hard == 0:
    say("BLOCKED", "core:enable", "RLIMIT_CORE hard limit is 0")
else:
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
        dumpable = libc.prctl(4, 1, 0, 0, 0) == 0  # PR_SET_DUMPABLE 1
        if dumpable:
            say("ESCAPED", "core:enable", f"core dumps re-enabled (RLIMIT_CORE {hard}, dumpable)")
        else:
            say("BLOCKED", "core:enable", "cannot become dumpable")
    except (ValueError, OSError) as e:
        say("BLOCKED", "core:enable", str(e))


class RLimit(ctypes.Structure):
    _fields_ = [("cur", ctypes.c_uint64), ("max", ctypes.c_uint64)]


libc.syscall.restype = ctypes.c_long
for label, pid in (("pid1", 1), ("parent", os.getppid())):
    if pid in (0, os.getpid()):
        continue
    new = RLimit(1 << 20, 1 << 20)
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(302), ctypes.c_long(pid), ctypes.c_long(resource.RLIMIT_NOFILE),
                     ctypes.byref(new), None)  # prlimit64
    if r == 0:
        say("ESCAPED", f"prlimit({label})", f"changed RLIMIT_NOFILE of pid {pid}")
    else:
        say("BLOCKED", f"prlimit({label})", ename(ctypes.get_errno()))
