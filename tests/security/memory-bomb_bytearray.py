# category: memory-bomb
# expect-status: memory_exceeded
# A bytearray growing 16 MB at a time, every page touched: MemoryError (RLIMIT_DATA) or the
# cgroup's OOM kill, either way memory_exceeded.
data = bytearray()
chunk = b"\x01" * (16 << 20)
while True:
    data += chunk
