# category: limits
# expect-status: success
# One CPU per run (cgroup cpu.max): two processes spinning for 1.5 s of wall time may
# together get about 1.5 s of CPU, not 3 s. Only meaningful on a machine with 2+ cores
# (this one and CI have 2); on one core it always passes.
import os
import time


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


WALL = 1.5
start = time.monotonic()
children = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        end = start + WALL
        while time.monotonic() < end:
            pass
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
wall = time.monotonic() - start
t = os.times()
cpu = t.children_user + t.children_system
ratio = cpu / wall if wall else 0
if ratio > 1.5:
    say("ESCAPED", "cpu:limit", f"{cpu:.2f} s CPU in {wall:.2f} s wall ({ratio:.2f} cores)")
else:
    say("BLOCKED", "cpu:limit", f"{cpu:.2f} s CPU in {wall:.2f} s wall ({ratio:.2f} cores, {os.cpu_count()} online)")
