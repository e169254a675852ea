# category: host-files
# expect-status: success
# /dev holds only null, zero, full, random, urandom, shm (plus harmless tty/ptmx/fd links):
# no disks, no /dev/mem, /dev/kmsg, /dev/kvm, /dev/fuse, /dev/userfaultfd, no host terminals,
# and no way to make device nodes.
import errno
import os
import stat


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


# (major, minor) of character devices a minimal /dev may hold.
ALLOWED = {(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 2)}

nodes = []
try:
    for top, dirs, names in os.walk("/dev"):
        for name in names + dirs:
            path = os.path.join(top, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISBLK(st.st_mode) or stat.S_ISCHR(st.st_mode):
                nodes.append((path, st))
except OSError as e:
    say("INFO", "walk:/dev", ename(e.errno))

bad = []
for path, st in nodes:
    dev = (os.major(st.st_rdev), os.minor(st.st_rdev))
    if stat.S_ISBLK(st.st_mode) or (dev not in ALLOWED and not path.startswith("/dev/pts/")):
        bad.append(f"{path}({dev[0]}:{dev[1]})")
if bad:
    say("ESCAPED", "dev-nodes", "unexpected device nodes: " + ",".join(bad[:10]))
else:
    say("BLOCKED", "dev-nodes", "only " + ",".join(sorted(p for p, _ in nodes)))

# Host terminals: a private devpts starts empty; the host's lists its ptys.
try:
    ptys = [n for n in os.listdir("/dev/pts") if n.isdigit()]
    if ptys:
        say("ESCAPED", "list:/dev/pts", "existing ptys (host devpts?): " + ",".join(ptys[:8]))
    else:
        say("BLOCKED", "list:/dev/pts", "no existing ptys")
except OSError as e:
    say("BLOCKED", "list:/dev/pts", ename(e.errno))

for path in ("/dev/mem", "/dev/kmem", "/dev/port", "/dev/kmsg", "/dev/vda", "/dev/sda",
             "/dev/nvme0n1", "/dev/loop0", "/dev/loop-control", "/dev/kvm", "/dev/fuse",
             "/dev/userfaultfd", "/dev/net/tun", "/dev/vsock", "/dev/vhost-net", "/dev/console",
             "/dev/tty0", "/dev/tty1", "/dev/ttyS0", "/dev/cpu/0/msr", "/dev/hwrng",
             "/dev/dri/card0", "/dev/btrfs-control", "/dev/autofs", "/dev/zram0"):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        os.close(fd)
        say("ESCAPED", f"open:{path}", "opened")
    except OSError as e:
        say("BLOCKED", f"open:{path}", ename(e.errno))

# Making our own /dev/mem or disk node in /tmp needs CAP_MKNOD.
for name, kind, dev in (("mem", stat.S_IFCHR, os.makedev(1, 1)),
                        ("disk", stat.S_IFBLK, os.makedev(8, 0))):
    path = f"/tmp/prsec_{name}_{os.getpid()}"
    try:
        os.mknod(path, kind | 0o600, dev)
        say("ESCAPED", f"mknod:{name}", "device node created in /tmp")
        os.unlink(path)
    except OSError as e:
        say("BLOCKED", f"mknod:{name}", ename(e.errno))
