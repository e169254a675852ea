# category: fds
# expect-status: success
# pidfd_getfd copies a file descriptor out of another process (needs ptrace rights over it).
# Stealing the fds of pid 1 or of our parent (pyrunner's init or supervisor, which may hold
# host files, sockets or the result pipe) must fail.
import ctypes
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def sysc(nr, *args):
    cargs = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *cargs)
    return r, (ctypes.get_errno() if r == -1 else 0)


targets = {}
if os.getpid() != 1:
    targets["pid1"] = 1
if os.getppid() not in (0, os.getpid()):
    targets["parent"] = os.getppid()
if not targets:
    say("BLOCKED", "pidfd_getfd", "no other process visible (we are pid 1, parent outside)")

for label, pid in targets.items():
    pidfd, e = sysc(434, pid, 0)  # pidfd_open
    if pidfd < 0:
        say("BLOCKED", f"pidfd_open({label})", ename(e))
        continue
    stolen, errors = [], set()
    for target_fd in range(0, 64):
        fd, e = sysc(438, pidfd, target_fd, 0)  # pidfd_getfd
        if fd >= 0:
            try:
                stolen.append(f"{target_fd}->{os.readlink(f'/proc/self/fd/{fd}')}")
            except OSError:
                stolen.append(str(target_fd))
            os.close(fd)
        else:
            errors.add(ename(e))
    if stolen:
        say("ESCAPED", f"pidfd_getfd({label})", "copied fds " + ",".join(stolen[:8]))
    else:
        say("BLOCKED", f"pidfd_getfd({label})", ",".join(sorted(errors)))
    os.close(pidfd)
