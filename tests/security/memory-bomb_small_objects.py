# category: memory-bomb
# expect-status: memory_exceeded
# Millions of small allocations (8 KB lists) rather than one big one: malloc's heap and
# pymalloc arenas must hit the limit too and end as MemoryError/OOM -> memory_exceeded.
hoard = []
while True:
    hoard.append([0] * 1000)
