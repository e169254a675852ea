# category: abi32
# expect-status: error
# expect-error: Killed by signal SIGSYS (a forbidden system call)
# The i386 syscall from a worker thread. SECCOMP_RET_KILL_THREAD (libseccomp's SCMP_ACT_KILL)
# kills only that thread and the program carries on; pyrunner must kill the whole process
# (SECCOMP_RET_KILL_PROCESS). Expected: the run ends in error and nothing is printed.
import ctypes
import os
import sys
import threading

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def machine_code(code):
    addr = libc.mmap(None, 4096, 3, 0x22, -1, 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap")
    ctypes.memmove(addr, code, len(code))
    if libc.mprotect(addr, 4096, 5) != 0:
        raise OSError(ctypes.get_errno(), "mprotect")
    return ctypes.CFUNCTYPE(ctypes.c_long)(addr)


try:
    fn = machine_code(bytes.fromhex("b814000000" "cd80" "c3"))
except OSError as e:
    print(f"BLOCKED abi32:int80-thread no executable memory: {e}", flush=True)
    sys.exit(1)

result = []
worker = threading.Thread(target=lambda: result.append(fn()), daemon=True)
worker.start()
worker.join(2.0)
if result:
    print(f"ESCAPED abi32:int80-thread i386 getpid returned {result[0]}", flush=True)
else:
    print("ESCAPED abi32:int80-thread only the thread died, the process lives on", flush=True)
os._exit(0)
