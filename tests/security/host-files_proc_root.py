# category: host-files
# expect-status: success
# /proc/<pid>/root of any visible process must be our own root (or unreadable): through it
# the host's root file system (e.g. /proc/1/root of the host) must not be reachable.
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


root = os.stat("/")
ROOT = (root.st_dev, root.st_ino)
try:
    mine = set(os.listdir("/"))
except OSError:
    mine = set()

pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit()) if os.path.isdir("/proc") else []
for pid in [1] + [p for p in pids if p != 1]:
    base = f"/proc/{pid}/root"
    try:
        st = os.stat(base + "/")
        if (st.st_dev, st.st_ino) == ROOT:
            say("BLOCKED", f"{base}", "is the sandbox root")
        else:
            names = set(os.listdir(base + "/"))
            say("ESCAPED", f"{base}", "another root: " + ",".join(sorted(names - mine)[:10]))
    except OSError as e:
        say("BLOCKED", f"{base}", ename(e.errno))

for path in ("/proc/1/root/etc/shadow", "/proc/self/root/../../../etc/shadow",
             "/proc/1/root/work/main/config/pyrunner.yaml", "/proc/1/root/root",
             "/proc/1/root/home"):
    try:
        if os.path.isdir(path):
            # /home holds only the run's own (empty) working directory.
            names = set(os.listdir(path)) - ({"user"} if path.endswith("/home") else set())
            if names:
                say("ESCAPED", f"read:{path}", ",".join(sorted(names)[:8]))
            else:
                say("BLOCKED", f"read:{path}", "empty")
            continue
        with open(path, "rb") as f:
            f.read(64)
        say("ESCAPED", f"read:{path}", "readable")
    except OSError as e:
        say("BLOCKED", f"read:{path}", ename(e.errno))

for link in ("/proc/self/exe", "/proc/1/exe"):
    try:
        say("INFO", link, os.readlink(link))
    except OSError as e:
        say("INFO", link, ename(e.errno))
