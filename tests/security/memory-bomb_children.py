# category: memory-bomb
# expect-status: memory_exceeded
# memory: 256
# RLIMIT_DATA is per process: four children each touching 100 MB stay under it, but together
# they hold 400 MB against a 256 MB limit. Only the cgroup sees the sum; its OOM killer must
# act. A child that dies (or fails) is reported as MemoryError by the parent; if all four
# complete, the limit did not hold.
import ctypes
import os
import time

children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        ctypes.CDLL(None).prctl(15, b"prsecd-memchild", 0, 0, 0)
        try:
            block = b"\x01" * (100 << 20)
            time.sleep(2)
            os._exit(0 if block else 1)
        except MemoryError:
            os._exit(3)
    children.append(pid)

failed = []
for pid in children:
    _, status = os.waitpid(pid, 0)
    if status != 0:
        failed.append(status)
if failed:
    raise MemoryError(f"children ended with {failed}: the run's memory limit held")
print("ESCAPED memory:children 4 x 100 MB held at once under a 256 MB limit", flush=True)
