# category: abi32
# expect-status: error
# expect-error: Killed by signal SIGSYS (a forbidden system call)
# Architecture confusion: i386 syscall 21 is mount, x86_64 syscall 21 is access. A filter
# that compares numbers without checking the architecture lets this mount through. Arguments
# are all zero (harmless). Expected: the process is killed with SIGSYS before printing.
import ctypes
import sys

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


# push rbx; xor ebx,ebx; xor ecx,ecx; xor edx,edx; xor esi,esi; xor edi,edi;
# mov eax,21 (i386 mount); int 0x80; pop rbx; ret
CODE = bytes.fromhex("53" "31db" "31c9" "31d2" "31f6" "31ff" "b815000000" "cd80" "5b" "c3")
try:
    fn = machine_code(CODE)
except OSError as e:
    print(f"BLOCKED abi32:int80-mount no executable memory: {e}", flush=True)
    sys.exit(1)
r = fn()
print(f"ESCAPED abi32:int80-mount i386 mount reached the kernel, returned {r}", flush=True)
