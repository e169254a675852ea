# category: memory-bomb
# expect-status: memory_exceeded
# memory: 256
# RLIMIT_DATA is per process: four children each touching 100 MB stay under it, but together
# they hold 400 MB against a 256 MB limit. Only the cgroup sees the sum; its OOM killer must
# act. Once the children exist, the parent makes itself the OOM killer's first choice
# (oom_score_adj 1000: any process may raise its own), so the cgroup's kill lands on the run's
# main process and the run ends as memory_exceeded, by the kernel's hand. If all four children
# report their 100 MB held at the same time, the limit did not hold: the parent says ESCAPED
# and ends normally. A child killed instead of the parent is reported (the run then ends in
# error, which fails the expected status: the OOM kill was not the one this program arranged).
import ctypes
import os
import select

go_r, go_w = os.pipe()      # closed by the parent: the children start allocating
held_r, held_w = os.pipe()  # one byte from each child that holds its 100 MB
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        ctypes.CDLL(None).prctl(15, b"prsecd-memchild", 0, 0, 0)  # PR_SET_NAME
        os.close(go_w)
        os.close(held_r)
        os.read(go_r, 1)  # EOF once the parent lets go
        block = b"\x01" * (100 << 20)  # every page written
        os.write(held_w, b"+")
        select.select([], [], [])  # blocks for good: the block is held until the run ends
        os._exit(0 if block else 1)
    children.append(pid)
os.close(go_r)
os.close(held_w)

with open("/proc/self/oom_score_adj", "w") as f:
    f.write("1000")
with open("/proc/self/oom_score_adj") as f:
    print("INFO oom_score_adj", f.read().strip(), flush=True)
os.close(go_w)

held = 0
while held < 4:
    ready, _, _ = select.select([held_r], [], [], 0.05)
    if ready:
        got = os.read(held_r, 4)
        if not got:
            break  # every child is gone
        held += len(got)
    pid, status = os.waitpid(-1, os.WNOHANG)
    if pid:
        print(f"INFO memory:children child {pid} ended first (status {status}), not this parent",
              flush=True)
        raise SystemExit(1)
if held == 4:
    print("ESCAPED memory:children 4 x 100 MB held at once under a 256 MB limit", flush=True)
