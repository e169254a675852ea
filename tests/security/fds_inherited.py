# category: fds
# expect-status: success
# File descriptors inherited from pyrunner: FD_CLOEXEC does nothing when the run is forked
# without exec, so every fd of the runner or zygote (listening sockets, log files, config,
# directories, epoll sets, pidfds) must have been closed explicitly. Only 0, 1, 2 are ours.
# fd 3 may be pyrunner's control socket or pipe: reported (INFO), and using it is not an
# escape, unless it is a directory or a regular file. Scanned with fstat (opens nothing).
import errno
import os
import socket
import stat


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def describe(fd, st):
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        target = "?"
    kind = ("dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else
            "socket" if stat.S_ISSOCK(st.st_mode) else "pipe" if stat.S_ISFIFO(st.st_mode) else
            "chr" if stat.S_ISCHR(st.st_mode) else "blk" if stat.S_ISBLK(st.st_mode) else "other")
    extra = ""
    if kind == "socket":
        try:
            s = socket.socket(fileno=fd)
            try:
                extra = f" family={s.family.name} local={s.getsockname()!r}"
                extra += f" listening={bool(s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))}"
            finally:
                s.detach()
        except OSError as e:
            extra = f" ({errno.errorcode.get(e.errno, e.errno)})"
    return kind, f"fd {fd}: {kind} {target}{extra}"


HARMLESS = {(1, 3), (1, 5), (1, 7), (1, 8), (1, 9)}  # null zero full random urandom
found = {}
for fd in range(0, 1024):
    try:
        found[fd] = os.fstat(fd)
    except OSError:
        pass

for fd in (0, 1, 2):
    if fd in found:
        kind, text = describe(fd, found[fd])
        if kind in ("dir", "blk"):
            say("ESCAPED", f"fd:{fd}", text)
        else:
            say("INFO", f"fd:{fd}", text + (" (a terminal)" if os.isatty(fd) else ""))

bad = 0
for fd, st in sorted(found.items()):
    if fd <= 2:
        continue
    kind, text = describe(fd, st)
    dev = (os.major(st.st_rdev), os.minor(st.st_rdev))
    if kind in ("dir", "file", "blk"):
        bad += 1
        say("ESCAPED", f"fd:{fd}", "inherited " + text)
    elif fd == 3:
        say("INFO", "fd:3", "runner's control channel? " + text)
    elif kind == "chr" and dev in HARMLESS:
        say("INFO", f"fd:{fd}", text)
    else:
        bad += 1
        say("ESCAPED", f"fd:{fd}", "inherited " + text)
if not bad:
    say("BLOCKED", "fd:scan", f"no inherited descriptors beyond stdio (open: {sorted(found)})")

# An inherited directory fd outside the root would let openat('..') walk the host.
for fd, st in found.items():
    if stat.S_ISDIR(st.st_mode):
        try:
            names = os.listdir(os.open("..", os.O_RDONLY, dir_fd=fd))
            say("ESCAPED", f"fd:{fd}-dotdot", "parent of an inherited directory: " + ",".join(sorted(names)[:8]))
        except OSError as e:
            say("BLOCKED", f"fd:{fd}-dotdot", errno.errorcode.get(e.errno, str(e.errno)))
