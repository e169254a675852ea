# category: host-files
# expect-status: success
# Symlink, hardlink and '..' tricks must resolve inside the sandbox root: a link in /tmp to
# /etc/shadow, /proc/1/root or the config, '..' past the root, and /usr files re-opened
# through /proc/self/fd.
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


def try_read(label, path):
    try:
        if os.path.isdir(path):
            names = os.listdir(path)
            if names:
                say("ESCAPED", label, f"{path} lists " + ",".join(sorted(names)[:8]))
            else:
                say("BLOCKED", label, "empty")
            return
        with open(path, "rb") as f:
            f.read(64)
        say("ESCAPED", label, f"{path} readable")
    except OSError as e:
        say("BLOCKED", label, ename(e.errno))


tag = f"/tmp/prsec_link_{os.getpid()}"
TARGETS = ["/etc/shadow", "/proc/1/root/etc/shadow", "/work/main/config/pyrunner.yaml",
           "/proc/1/root/root", "../../../../../../etc/shadow", "/proc/1/cwd/../../../etc/shadow"]
for i, target in enumerate(TARGETS):
    link = f"{tag}_{i}"
    try:
        os.symlink(target, link)
    except OSError as e:
        say("BLOCKED", f"symlink:{target}", "cannot create link: " + ename(e.errno))
        continue
    try_read(f"symlink:{target}", link)
    os.unlink(link)

for path in ("/tmp/../../../../etc/shadow", "/proc/self/root/../../etc/shadow",
             "/proc/self/cwd/../../../../../etc/shadow", "/dev/fd/../../../etc/shadow",
             "/usr/../../../root"):
    try_read(f"dotdot:{path}", path)

# '..' from a directory fd of the /usr bind mount.
try:
    dfd = os.open("/usr", os.O_RDONLY | os.O_DIRECTORY)
    try_read("fd-dotdot:/usr", f"/proc/self/fd/{dfd}/../../../etc/shadow")
    try_read("fd-dotdot:/usr-root", f"/proc/self/fd/{dfd}/../../../root")
    os.close(dfd)
except OSError as e:
    say("BLOCKED", "fd-dotdot:/usr", ename(e.errno))

# A hardlink from /tmp to a /usr file only works if /tmp shares the host file system.
for src in ("/usr/bin/python3", "/etc/localtime"):
    dst = f"{tag}_hard"
    try:
        os.link(os.path.realpath(src), dst)
        say("ESCAPED", f"hardlink:{src}", "hardlink into /tmp succeeded (same fs as host)")
        os.unlink(dst)
    except OSError as e:
        say("BLOCKED", f"hardlink:{src}", ename(e.errno))
