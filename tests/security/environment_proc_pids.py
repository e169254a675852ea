# category: environment
# expect-status: success
# The run has its own PID namespace with a fresh /proc: /proc/self is our own pid, /proc
# lists only ourselves and our ancestors inside the namespace (e.g. a tiny init), and
# NSpid shows a single level (a host /proc would show the host pid as well).
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


me = os.getpid()
say("INFO", "pid", f"getpid={me} getppid={os.getppid()}")

try:
    link = os.readlink("/proc/self")
    if link == str(me):
        say("BLOCKED", "proc:self", "/proc belongs to our PID namespace")
    else:
        say("ESCAPED", "proc:self", f"/proc/self is {link} but getpid() is {me}: foreign /proc")
except OSError as e:
    say("BLOCKED", "proc:self", ename(e.errno))

try:
    nspid = status("self").get("NSpid", "").split()
    if len(nspid) > 1:
        say("ESCAPED", "proc:nspid", "outer pids visible: " + " ".join(nspid))
    else:
        say("BLOCKED", "proc:nspid", " ".join(nspid) or "absent")
except OSError as e:
    say("BLOCKED", "proc:nspid", ename(e.errno))

try:
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
except OSError as e:
    pids = []
    say("BLOCKED", "proc:list", ename(e.errno))

ancestors, pid = set(), me
while pid > 0 and pid not in ancestors:
    ancestors.add(pid)
    try:
        pid = int(status(pid).get("PPid", "0"))
    except (OSError, ValueError):
        break

# Threads of ourselves and our ancestors answer kill(tid, 0) too.
for pid in list(ancestors):
    try:
        ancestors.update(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        pass

foreign = []
for pid in pids:
    if pid in ancestors:
        continue
    try:
        st = status(pid)
        foreign.append(f"{pid}:{st.get('Name')}:uid={st.get('Uid', '?').split()[0]}")
    except OSError:
        foreign.append(str(pid))
if foreign:
    say("ESCAPED", "proc:list", "processes outside our ancestry visible: " + ",".join(foreign[:10]))
elif pids:
    say("BLOCKED", "proc:list", "only " + ",".join(map(str, pids)))

# Probe pid numbers directly: a pid outside our ancestry must not be signalable or statable.
extra = []
for pid in range(1, 4097):
    if pid in ancestors:
        continue
    try:
        os.kill(pid, 0)
        extra.append(str(pid))
    except ProcessLookupError:
        continue
    except PermissionError:
        extra.append(f"{pid}(EPERM)")
if extra:
    say("ESCAPED", "kill-probe:1-4096", "other processes exist: " + ",".join(extra[:10]))
else:
    say("BLOCKED", "kill-probe:1-4096", "no process but ours and our ancestors")
