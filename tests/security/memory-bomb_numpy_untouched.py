# category: memory-bomb
# expect-status: memory_exceeded
# np.zeros of 4 GB is never touched, so the cgroup alone would not notice: RLIMIT_DATA must
# make the allocation itself fail (MemoryError -> memory_exceeded). If it succeeds we say so
# and end normally, which fails the expected status.
import numpy as np

a = np.zeros(4 << 30, dtype=np.uint8)
print(f"ESCAPED memory:untouched allocated {a.nbytes >> 20} MB beyond the limit", flush=True)
