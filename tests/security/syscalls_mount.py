# category: syscalls
# expect-status: success
# Mount-table attacks: a new tmpfs or proc, bind-mounting /, remounting the /usr bind
# read-write (it is the host's /usr underneath), detaching /tmp or /proc, pivot_root,
# chroot (in a throwaway child) and the new mount API (fsopen, open_tree). Anything that
# succeeds is undone at once.
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


MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC = 1, 32, 4096, 16384
MNT_DETACH = 2
work = f"/tmp/prsec_mnt_{os.getpid()}"
os.makedirs(work + "/old", exist_ok=True)

MOUNTS = [
    ("tmpfs", (b"none", work.encode(), b"tmpfs", 0, None)),
    ("proc", (b"proc", work.encode(), b"proc", 0, None)),
    ("bind-root", (b"/", work.encode(), None, MS_BIND | MS_REC, None)),
    ("remount-usr-rw", (None, b"/usr", None, MS_REMOUNT | MS_BIND, None)),
    ("cgroup2", (b"none", work.encode(), b"cgroup2", 0, None)),
]
for name, args in MOUNTS:
    r, e = sysc(165, *args)
    if r == 0:
        say("ESCAPED", f"mount({name})", "mounted")
        if name == "remount-usr-rw":
            sysc(165, None, b"/usr", None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)
        else:
            sysc(166, work.encode(), MNT_DETACH)
    else:
        say("BLOCKED", f"mount({name})", ename(e))

# Not a mount point, so even with CAP_SYS_ADMIN this fails with EINVAL: anything but EPERM
# means the capability check passed.
r, e = sysc(155, work.encode(), (work + "/old").encode())
if r == 0 or e != errno.EPERM:
    say("ESCAPED", "pivot_root", "passed the privilege check: " + (ename(e) if r else "succeeded"))
else:
    say("BLOCKED", "pivot_root", ename(e))

child = os.fork()
if child == 0:
    r, e = sysc(161, work.encode())
    say("ESCAPED" if r == 0 else "BLOCKED", "chroot", "chrooted" if r == 0 else ename(e))
    os._exit(0)
os.waitpid(child, 0)

r, e = sysc(430, b"tmpfs", 0)  # fsopen
if r >= 0:
    os.close(r)
    say("ESCAPED", "fsopen(tmpfs)", "file system context created")
else:
    say("BLOCKED", "fsopen(tmpfs)", ename(e))
r, e = sysc(428, -100, b"/usr", 1)  # open_tree(AT_FDCWD, "/usr", OPEN_TREE_CLONE)
if r >= 0:
    os.close(r)
    say("ESCAPED", "open_tree(/usr,CLONE)", "detached mount tree cloned")
else:
    say("BLOCKED", "open_tree(/usr,CLONE)", ename(e))

# Last, as a success would pull the floor from under the attempts above.
for target in ("/proc", "/dev", "/tmp"):
    r, e = sysc(166, target.encode(), MNT_DETACH)
    say("ESCAPED" if r == 0 else "BLOCKED", f"umount2({target})", "detached" if r == 0 else ename(e))

for d in (work + "/old", work):
    try:
        os.rmdir(d)
    except OSError:
        pass
