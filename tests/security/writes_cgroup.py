# category: writes
# expect-status: success
# The run's cgroup holds its memory, pids and CPU limits: raising them, moving ourselves to
# another cgroup (the parent, the root) or creating child cgroups must be impossible,
# for cgroup v2 and v1 hierarchies alike. Files are only opened for writing.
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


lines = []
try:
    with open("/proc/self/cgroup") as f:
        lines = [l.strip().split(":", 2) for l in f if l.strip()]
    say("INFO", "proc:cgroup", ";".join(":".join(l) for l in lines))
except OSError as e:
    say("INFO", "proc:cgroup", ename(e.errno))

bases = set()
for _, controllers, path in lines:
    rel = path.lstrip("/")
    if controllers == "":
        bases.update({os.path.join("/sys/fs/cgroup", rel), os.path.join("/sys/fs/cgroup/unified", rel)})
    for c in controllers.split(","):
        if c:
            bases.add(os.path.join("/sys/fs/cgroup", c.replace("name=", ""), rel))
bases.add("/sys/fs/cgroup")

FILES = ["cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "memory.max", "memory.high",
         "memory.swap.max", "memory.oom.group", "pids.max", "cpu.max", "cpu.weight", "cgroup.freeze",
         "cgroup.kill", "memory.limit_in_bytes", "tasks", "notify_on_release", "release_agent"]
tried = 0
for base in sorted(bases):
    for d in (base, os.path.dirname(base.rstrip("/"))):
        if not os.path.isdir(d):
            continue
        for name in FILES:
            path = os.path.join(d, name)
            if not os.path.exists(path):
                continue
            tried += 1
            try:
                fd = os.open(path, os.O_WRONLY)
                os.close(fd)
                say("ESCAPED", f"open-write:{path}", "cgroup file writable")
            except OSError as e:
                say("BLOCKED", f"open-write:{path}", ename(e.errno))
        sub = os.path.join(d, f"prsec_{os.getpid()}")
        try:
            os.mkdir(sub)
            say("ESCAPED", f"mkdir:{d}", "created a child cgroup")
            os.rmdir(sub)
        except OSError as e:
            say("BLOCKED", f"mkdir:{d}", ename(e.errno))
if not tried:
    say("BLOCKED", "cgroupfs", "no cgroup control files visible")
