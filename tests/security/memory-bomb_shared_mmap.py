# category: memory-bomb
# expect-status: memory_exceeded
# memory: 128
# Shared anonymous memory is not counted by RLIMIT_DATA: only the cgroup's memory limit can
# stop 1 GB of touched MAP_SHARED pages (shmem, charged to the run's cgroup). Expected: the
# OOM killer ends the run, reported as memory_exceeded.
import mmap

size = 1 << 30
m = mmap.mmap(-1, size)  # MAP_SHARED | MAP_ANONYMOUS
chunk = b"\x01" * (8 << 20)
for off in range(0, size, len(chunk)):
    m[off:off + len(chunk)] = chunk
print(f"ESCAPED memory:shared touched {size >> 20} MB of shared memory beyond the 128 MB limit", flush=True)
