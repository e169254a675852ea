# category: syscalls
# expect-status: success
# Privileged kernel operations: modules, kexec, reboot, swap, process accounting, kernel
# log, I/O ports. Arguments are chosen so that even a caller holding the capability gets
# an error (unknown module, bad magic, missing file): EPERM (or ENOSYS) means refused;
# any other answer means the privilege check passed: ESCAPED. Nothing can take effect.
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


devnull = os.open("/dev/null", os.O_RDONLY)
missing = f"/tmp/prsec_missing_{os.getpid()}".encode()
CASES = [
    ("init_module(NULL)", 175, (None, 0, b"")),
    ("finit_module(/dev/null)", 313, (devnull, b"", 0)),
    ("delete_module(unknown)", 176, (b"prsec_no_such_module", os.O_NONBLOCK)),
    ("kexec_load(bad-flags)", 246, (0, 0, None, 0x7fff0000)),
    ("kexec_file_load(bad-fds)", 320, (-1, -1, 0, b"", 0)),
    ("reboot(bad-magic2)", 169, (0xfee1dead, 0x12345678, 0, None)),
    ("swapon(missing)", 167, (missing, 0)),
    ("swapoff(missing)", 168, (missing,)),
    ("acct(missing)", 163, (missing,)),
]
for name, nr, args in CASES:
    r, e = sysc(nr, *args)
    if r == -1 and e in (errno.EPERM, errno.ENOSYS):
        say("BLOCKED", name, ename(e))
    else:
        say("ESCAPED", name, "privilege check passed: " + (ename(e) if r == -1 else f"returned {r}"))
os.close(devnull)

# The kernel log (dmesg) of the host.
buf = ctypes.create_string_buffer(4096)
r, e = sysc(103, 3, buf, 4096)  # syslog(SYSLOG_ACTION_READ_ALL)
say("ESCAPED" if r >= 0 else "BLOCKED", "syslog(READ_ALL)", f"{r} bytes of kernel log" if r >= 0 else ename(e))

# Raw I/O port access; undone at once if granted.
r, e = sysc(173, 0x80, 1, 1)  # ioperm
if r == 0:
    sysc(173, 0x80, 1, 0)
say("ESCAPED" if r == 0 else "BLOCKED", "ioperm(0x80)", "granted" if r == 0 else ename(e))
r, e = sysc(172, 3)  # iopl
if r == 0:
    sysc(172, 0)
say("ESCAPED" if r == 0 else "BLOCKED", "iopl(3)", "granted" if r == 0 else ename(e))
