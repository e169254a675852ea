# category: abi32
# expect-status: error
# expect-error: Killed by signal SIGSYS (a forbidden system call)
# The i386 ABI from a 64-bit process: `mov eax, 20 (getpid); int 0x80; ret` in executable
# memory. Seccomp filters are per architecture, so a filter written for x86_64 numbers only
# does not see this at all. pyrunner's filter kills the process (SIGSYS), so the run ends in
# error before anything is printed, with exactly that signal as its error. (A kernel without
# IA32 emulation would answer SIGSEGV, and a run without executable memory would exit 1: both
# fail the expected error, since the filter was then never tried.)
import ctypes
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def machine_code(code):
    """A callable for `code`, written to fresh memory that is then made executable."""
    addr = libc.mmap(None, 4096, 3, 0x22, -1, 0)  # PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS
    if addr in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap")
    ctypes.memmove(addr, code, len(code))
    if libc.mprotect(addr, 4096, 5) != 0:  # PROT_READ|PROT_EXEC
        raise OSError(ctypes.get_errno(), "mprotect")
    return ctypes.CFUNCTYPE(ctypes.c_long)(addr)


CODE = bytes.fromhex("b814000000" "cd80" "c3")  # mov eax,20; int 0x80; ret
try:
    fn = machine_code(CODE)
except OSError as e:
    print(f"BLOCKED abi32:int80 no executable memory: {e}", flush=True)
    sys.exit(1)
print(f"ESCAPED abi32:int80 i386 getpid returned {fn()}", flush=True)
