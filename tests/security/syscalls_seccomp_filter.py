# category: syscalls
# expect-status: success
# Is the seccomp filter there, rule by rule? Each call below is made with harmless
# arguments for which the kernel itself would answer with a *different* errno (EINVAL,
# EBADF, ESRCH, ENOENT, EFAULT, ENOTTY...) or succeed. So getting the filter's answer
# (EPERM, or ENOSYS for clone3, EAFNOSUPPORT for sockets) proves the rule exists, and any
# other answer means the call reached the kernel unfiltered: ESCAPED "rule missing".
# Nothing here can do harm even without a filter.
import ctypes
import errno
import os
import socket


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


CLONE_NEWUSER, CLONE_NEWNS, CLONE_FS, CLONE_PARENT = 0x10000000, 0x20000, 0x200, 0x8000
UFFD_USER_MODE_ONLY = 1
devnull = os.open("/dev/null", os.O_RDWR)
c = ctypes.c_char(b"x")

# name, syscall number, arguments, the answers that mean "filtered"
CASES = [
    ("ptrace(ATTACH,no-such-pid)", 101, (16, 0x3ffffff0, 0, 0), {errno.EPERM}),
    ("process_vm_readv(no-such-pid)", 310, (0x3ffffff0, None, 0, None, 0, 0), {errno.EPERM}),
    ("process_vm_writev(no-such-pid)", 311, (0x3ffffff0, None, 0, None, 0, 0), {errno.EPERM}),
    ("mount(missing-target)", 165, (None, b"/prsec-no-such-dir", None, 0, None), {errno.EPERM}),
    ("umount2(bad-flags)", 166, (b"/", 0x7ff0), {errno.EPERM}),
    ("chroot(missing-dir)", 161, (b"/prsec-no-such-dir",), {errno.EPERM}),
    ("unshare(NEWUSER|bad-flag)", 272, (CLONE_NEWUSER | CLONE_PARENT,), {errno.EPERM}),
    ("unshare(NEWNS|bad-flag)", 272, (CLONE_NEWNS | CLONE_PARENT,), {errno.EPERM}),
    ("setns(bad-fd,NEWNS)", 308, (-1, CLONE_NEWNS), {errno.EPERM}),
    ("clone(NEWUSER|FS)", 56, (CLONE_NEWUSER | CLONE_FS | 17, 0, 0, 0, 0), {errno.EPERM}),
    ("clone3(NULL,0)", 435, (None, 0), {errno.ENOSYS}),
    ("bpf(bad-cmd)", 321, (9999, None, 0), {errno.EPERM}),
    ("perf_event_open(NULL)", 298, (None, 0, -1, -1, 0), {errno.EPERM}),
    ("keyctl(bad-op)", 250, (9999, 0, 0, 0, 0), {errno.EPERM}),
    ("add_key(NULL)", 248, (None, None, None, 0, 0), {errno.EPERM}),
    ("request_key(NULL)", 249, (None, None, None, 0), {errno.EPERM}),
    ("io_uring_setup(NULL)", 425, (1, None), {errno.EPERM}),
    ("io_uring_enter(bad-fd)", 426, (-1, 0, 0, 0, None, 0), {errno.EPERM}),
    ("io_uring_register(bad-fd)", 427, (-1, 0, None, 0), {errno.EPERM}),
    ("userfaultfd(bad-flags)", 323, (UFFD_USER_MODE_ONLY | 0x4000,), {errno.EPERM}),
    ("ioctl(devnull,TIOCSTI)", 16, (devnull, 0x5412, ctypes.byref(c)), {errno.EPERM}),
]
for name, nr, args, filtered in CASES:
    r, e = sysc(nr, *args)
    if r == -1 and e in filtered:
        say("BLOCKED", f"seccomp:{name}", ename(e))
    elif r == -1:
        say("ESCAPED", f"seccomp:{name}", f"rule missing: the kernel answered {ename(e)}")
    else:
        say("ESCAPED", f"seccomp:{name}", f"rule missing: returned {r}")
        if nr == 56 and r == 0:
            os._exit(0)
os.close(devnull)

# Every family but AF_UNIX: the filter answers EAFNOSUPPORT (the kernel would create an
# AF_INET socket, and answer EPERM for AF_PACKET).
for name, fam, kind in (("AF_INET", socket.AF_INET, socket.SOCK_STREAM),
                        ("AF_INET6", socket.AF_INET6, socket.SOCK_DGRAM),
                        ("AF_NETLINK", 16, socket.SOCK_RAW), ("AF_PACKET", 17, socket.SOCK_RAW),
                        ("AF_VSOCK", 40, socket.SOCK_STREAM), ("AF_ALG", 38, socket.SOCK_SEQPACKET)):
    ctypes.set_errno(0)
    fd = libc.socket(fam, kind, 0)
    e = ctypes.get_errno()
    if fd >= 0:
        os.close(fd)
        say("ESCAPED", f"seccomp:socket({name})", "rule missing: socket created")
    elif e == errno.EAFNOSUPPORT:
        say("BLOCKED", f"seccomp:socket({name})", ename(e))
    else:
        say("ESCAPED", f"seccomp:socket({name})", f"rule missing: the kernel answered {ename(e)}")
