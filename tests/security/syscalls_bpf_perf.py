# category: syscalls
# expect-status: success
# eBPF (map creation, a trivial socket-filter program) and perf events (a software counter
# on ourselves): both large kernel attack surfaces and side channels, refused by seccomp.
import ctypes
import errno
import os
import struct


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def sysc(nr, *args):
    cargs = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *cargs)
    return r, (ctypes.get_errno() if r == -1 else 0)


def report(what, r, e):
    if r >= 0:
        os.close(r)
        say("ESCAPED", what, f"fd {r}")
    else:
        say("BLOCKED", what, ename(e))


# BPF_MAP_CREATE: array map, 4-byte keys and values, one entry.
attr = ctypes.create_string_buffer(struct.pack("=IIII", 2, 4, 4, 1), 128)
report("bpf(MAP_CREATE)", *sysc(321, 0, attr, 128))

# BPF_PROG_LOAD: socket filter "r0 = 0; exit".
insns = ctypes.create_string_buffer(struct.pack("=BBhi", 0xb7, 0, 0, 0) + struct.pack("=BBhi", 0x95, 0, 0, 0), 16)
license_ = ctypes.create_string_buffer(b"GPL")
attr = ctypes.create_string_buffer(
    struct.pack("=IIQQ", 1, 2, ctypes.addressof(insns), ctypes.addressof(license_)), 128)
report("bpf(PROG_LOAD)", *sysc(321, 5, attr, 128))

# perf_event_open: PERF_TYPE_SOFTWARE / CPU_CLOCK on ourselves, user space only.
DISABLED, EXCLUDE_KERNEL, EXCLUDE_HV = 1, 1 << 5, 1 << 6
attr = ctypes.create_string_buffer(
    struct.pack("=IIQQQQQ", 1, 128, 0, 0, 0, 0, DISABLED | EXCLUDE_KERNEL | EXCLUDE_HV), 128)
report("perf_event_open(sw-cpu-clock)", *sysc(298, attr, 0, -1, -1, 0))
# PERF_TYPE_HARDWARE / CPU_CYCLES on ourselves.
attr = ctypes.create_string_buffer(
    struct.pack("=IIQQQQQ", 0, 128, 0, 0, 0, 0, DISABLED | EXCLUDE_KERNEL | EXCLUDE_HV), 128)
report("perf_event_open(hw-cycles)", *sysc(298, attr, 0, -1, -1, 0))
# System-wide on CPU 0 (needs privilege even without seccomp).
report("perf_event_open(cpu0-all)", *sysc(298, attr, -1, 0, -1, 0))
