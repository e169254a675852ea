# category: environment
# expect-status: success
# /proc/<pid>/environ and /proc/<pid>/cmdline of every visible process (ourselves, our
# parent, pid 1, their threads) must hold neither the test secret nor any variable beyond
# the clean set pyrunner builds.
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


ALLOWED = {"PATH", "HOME", "LANG", "LC_ALL", "MPLBACKEND", "MPLCONFIGDIR",
           "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "OPENBLAS_NUM_THREADS",
           "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "TMPDIR",
           "PYTHONIOENCODING"}
CANARY = ("hunter2-" + "canary").encode()


def read(path):
    with open(path, "rb", buffering=0) as f:
        return f.read(1 << 20)


paths = ["/proc/self/environ", "/proc/thread-self/environ", "/proc/1/environ"]
pids = sorted(p for p in os.listdir("/proc") if p.isdigit()) if os.path.isdir("/proc") else []
for pid in pids:
    paths.append(f"/proc/{pid}/environ")
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            if tid != pid:
                paths.append(f"/proc/{pid}/task/{tid}/environ")
    except OSError:
        pass

for path in dict.fromkeys(paths):
    try:
        data = read(path)
    except OSError as e:
        say("BLOCKED", f"read:{path}", ename(e.errno))
        continue
    if CANARY in data:
        say("ESCAPED", f"read:{path}", "holds the test secret")
        continue
    keys = {item.split(b"=", 1)[0].decode(errors="replace") for item in data.split(b"\0") if b"=" in item}
    extra = sorted(keys - ALLOWED)
    if extra:
        say("ESCAPED", f"read:{path}", "host variables: " + ",".join(extra[:10]))
    else:
        say("BLOCKED", f"read:{path}", f"{len(keys)} clean variables")

for pid in dict.fromkeys(["self", "1"] + pids):
    path = f"/proc/{pid}/cmdline"
    try:
        data = read(path)
    except OSError as e:
        say("BLOCKED", f"read:{path}", ename(e.errno))
        continue
    if CANARY in data:
        say("ESCAPED", f"read:{path}", "holds the test secret")
    else:
        say("BLOCKED", f"read:{path}", "no secret")
        say("INFO", f"cmdline:{pid}", repr(data.replace(b"\0", b" ")[:200].decode(errors="replace")))

# The auxiliary vector points at the exec'd file name and the environment block.
try:
    data = read("/proc/self/auxv")
    say("BLOCKED" if CANARY not in data else "ESCAPED", "read:/proc/self/auxv", f"{len(data)} bytes")
except OSError as e:
    say("BLOCKED", "read:/proc/self/auxv", ename(e.errno))
