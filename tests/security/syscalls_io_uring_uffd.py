# category: syscalls
# expect-status: success
# io_uring (runs operations, sockets included, where seccomp cannot see them), userfaultfd
# (the classic race-widening tool of kernel exploits), open_by_handle_at with the root inode
# of the host file system ("shocker"), and TIOCSTI (typing into the terminal of whoever
# started us). All must fail.
import ctypes
import errno
import os
import struct


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


def report(what, r, e):
    if r >= 0:
        os.close(r)
        say("ESCAPED", what, f"fd {r}")
    else:
        say("BLOCKED", what, ename(e))


params = ctypes.create_string_buffer(120)
report("io_uring_setup(4)", *sysc(425, 4, params))

O_CLOEXEC, UFFD_USER_MODE_ONLY = 0o2000000, 1
report("userfaultfd(USER_MODE_ONLY)", *sysc(323, O_CLOEXEC | UFFD_USER_MODE_ONLY))
report("userfaultfd(all)", *sysc(323, O_CLOEXEC))

# struct file_handle for ext4/xfs-style FILEID_INO32_GEN: inode 2 (fs root), generation 0.
handle = ctypes.create_string_buffer(struct.pack("=Ii", 8, 1) + struct.pack("=II", 2, 0), 16)
for mount in ("/usr", "/etc/localtime", "/tmp"):
    try:
        mfd = os.open(mount, os.O_RDONLY)
    except OSError as e:
        say("BLOCKED", f"open_by_handle_at({mount})", "cannot open mount: " + ename(e.errno))
        continue
    r, e = sysc(304, mfd, handle, os.O_RDONLY | os.O_DIRECTORY)
    if r >= 0:
        try:
            names = ",".join(sorted(os.listdir(r))[:10])
        except OSError:
            names = "?"
        os.close(r)
        say("ESCAPED", f"open_by_handle_at({mount})", "opened the file system root: " + names)
    else:
        say("BLOCKED", f"open_by_handle_at({mount})", ename(e))
    os.close(mfd)

TIOCSTI = 0x5412
nul = ctypes.c_char(b"\0")
fds = [(str(fd), fd) for fd in (0, 1, 2)]
try:
    fds.append(("/dev/tty", os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)))
except OSError as e:
    say("BLOCKED", "open(/dev/tty)", ename(e.errno))
for name, fd in fds:
    r, e = sysc(16, fd, TIOCSTI, ctypes.byref(nul))
    say("ESCAPED" if r == 0 else "BLOCKED", f"ioctl({name},TIOCSTI)", "injected input" if r == 0 else ename(e))
