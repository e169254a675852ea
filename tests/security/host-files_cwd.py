# category: host-files
# expect-status: success
# A working directory left outside the new root (pivot_root without chdir) lets '..'
# walk the host tree. Walk up from our cwd and from every visible /proc/<pid>/cwd and
# /proc/<pid>/root: each walk must end at our own root.
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


def top_of(start):
    """(dev, ino) of the directory reached from start by '..' until it stops changing."""
    path, prev = start, None
    for _ in range(128):
        st = os.stat(path)
        key = (st.st_dev, st.st_ino)
        if key == prev:
            return key, path
        prev, path = key, os.path.join(path, "..")
    return prev, path


root = os.stat("/")
ROOT = (root.st_dev, root.st_ino)

try:
    say("INFO", "cwd", os.getcwd())
except OSError as e:
    say("INFO", "cwd", "getcwd failed: " + ename(e.errno))


def check(label, start):
    try:
        key, path = top_of(start)
    except OSError as e:
        say("BLOCKED", label, ename(e.errno))
        return
    if key == ROOT:
        say("BLOCKED", label, "'..' walk ends at the sandbox root")
    else:
        try:
            names = ",".join(sorted(os.listdir(path))[:10])
        except OSError:
            names = "?"
        say("ESCAPED", label, f"'..' walk ends outside the sandbox root: {names}")


check("cwd-dotdot", ".")
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit()) if os.path.isdir("/proc") else []
for pid in pids:
    for kind in ("cwd", "root"):
        check(f"proc-{pid}-{kind}", f"/proc/{pid}/{kind}/")
