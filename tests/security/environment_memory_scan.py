# category: environment
# expect-status: success
# timeout: 40
# Scans the process's own writable memory (heap, stack, anonymous and data mappings) for
# the test secret. A runner that forks without exec, or copies its environment into a
# buffer, hands that memory to the run even when /proc/self/environ looks clean.
# The secret is never built in full here (compile-time folding would put it in memory):
# we look for its first 12 bytes and then compare the 2 bytes after each hit.
# BLOCKED only for a complete scan: every region read, within the time budget, and a canary
# made at run time (so it is in the heap) found by the same scan, which shows the scanner
# reads real memory. Anything less prints INFO only, and the run then has no verdict.
import ctypes
import os
import time


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


CANARY = b"prsec-scan-" + os.urandom(8).hex().encode()
HEAD = b"hunter2-" + b"cana"
TAIL = b"r" + b"y"
SKIP = ("[vvar]", "[vvar_vclock]", "[vsyscall]", "[vdso]")
CHUNK = 1 << 20
deadline = time.monotonic() + 25

regions = []
with open("/proc/self/maps") as f:
    for line in f:
        parts = line.split(None, 5)
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        perms = parts[1]
        path = parts[5].strip() if len(parts) > 5 else ""
        if "r" not in perms or path in SKIP or hi - lo > (1 << 30) or lo >= (1 << 63):
            continue
        # Read-only file mappings (library text and constants) cannot hold the environment.
        if path and not path.startswith("[") and "w" not in perms:
            continue
        regions.append((lo, hi, path or "[anon]"))

def proc_mem_reader():
    fd = os.open("/proc/self/mem", os.O_RDONLY)
    return lambda addr, n: os.pread(fd, n, addr)


def pipe_reader():
    """Reads our own memory through a pipe: write(2) from a bad address fails with EFAULT
    instead of crashing, so this is safe where /proc/self/mem is closed (non-dumpable)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.write.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
    libc.write.restype = ctypes.c_ssize_t
    r, w = os.pipe()
    piece = 1 << 16

    def read(addr, n):
        out = []
        for off in range(0, n, piece):
            k = min(piece, n - off)
            got = libc.write(w, addr + off, k)
            if got < 0:
                raise OSError(ctypes.get_errno(), "write")
            out.append(os.read(r, got))
        return b"".join(out)
    return read


try:
    read_mem, how = proc_mem_reader(), "/proc/self/mem"
except OSError:
    read_mem, how = pipe_reader(), "pipe"

hits, scanned, errors, partial, canaries = [], 0, 0, False, 0
for lo, hi, path in regions:
    addr = lo
    while addr < hi:
        if time.monotonic() > deadline:
            partial = True
            break
        n = min(CHUNK + 16, hi - addr)
        try:
            data = read_mem(addr, n)
        except OSError:
            errors += 1
            addr += CHUNK
            continue
        scanned += len(data)
        canaries += data.count(CANARY)
        pos = data.find(HEAD)
        while pos != -1:
            if data[pos + len(HEAD):pos + len(HEAD) + 2] == TAIL:
                hits.append(f"{path}@{addr + pos:#x}")
            pos = data.find(HEAD, pos + 1)
        addr += CHUNK
    if partial:
        break

detail = f"{scanned >> 20} MB in {len(regions)} regions via {how}, {errors} unreadable chunks"
if hits:
    say("ESCAPED", "memory:secret", "test secret in own memory at " + ",".join(hits[:6]))
elif partial or errors or not canaries:
    why = "time budget ran out" if partial else "unreadable memory" if errors else "canary not found"
    say("INFO", "memory:secret", f"scan incomplete ({why}): {detail}, canary seen {canaries} times")
else:
    say("BLOCKED", "memory:secret", f"not found in {detail}; canary found {canaries} times")
