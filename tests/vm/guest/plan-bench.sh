# Not part of make test-cgroup2 (PYRUNNER_VM_BOOTS=bench runs it): what a v2 run cgroup costs
# to make and remove, against resetting a finished one for the next run (Linux 6.12+).
. /payload/guest/lib.sh
check "cgroup v2: create and remove vs reset" /usr/bin/python3 - <<'PY'
import os, time
root = "/sys/fs/cgroup"
open(root + "/cgroup.subtree_control", "w").write("+memory +pids +cpu")
parent = root + "/bench"
os.makedirs(parent, exist_ok=True)
open(parent + "/cgroup.subtree_control", "w").write("+memory +pids +cpu")
N = 300
def write(path, value):
    with open(path, "w") as f:
        f.write(value)
t0 = time.perf_counter()
for i in range(N):
    d = "%s/run-%d" % (parent, i)
    os.mkdir(d)
    write(d + "/pids.max", "64")
    write(d + "/cpu.max", "100000 100000")
    write(d + "/memory.max", str(512 << 20))
    write(d + "/memory.swap.max", "0")
    os.rmdir(d)
fresh = (time.perf_counter() - t0) / N
d = parent + "/reused"
os.mkdir(d)
peak = os.open(d + "/memory.peak", os.O_RDWR)
t0 = time.perf_counter()
for i in range(N):
    os.pwrite(peak, b"reset", 0)
    open(d + "/memory.current").read()
    open(d + "/memory.events").read()
reused = (time.perf_counter() - t0) / N
os.close(peak)
os.rmdir(d)
os.rmdir(parent)
print("v2 run cgroup, %s: mkdir + limits + rmdir %.0f us, reset for reuse %.0f us (%.0fx)"
      % (os.uname().release, fresh * 1e6, reused * 1e6, fresh / reused))
PY
finish
