# category: abi32
# expect-status: error
# expect-error: Killed by signal SIGSYS (a forbidden system call)
# The x32 ABI: x86_64 syscall numbers with bit 30 set (0x40000000 | 39 = x32 getpid). Same
# architecture token as x86_64 in seccomp, so a filter must reject these numbers explicitly.
# pyrunner's filter kills the process (SIGSYS); a kernel without x32 would merely answer
# ENOSYS, which still means the filter did not act: we print ESCAPED and exit normally.
import ctypes
import errno

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
ctypes.set_errno(0)
r = libc.syscall(ctypes.c_long(0x40000000 | 39))
e = ctypes.get_errno() if r == -1 else 0
print(f"ESCAPED abi32:x32 x32 getpid returned {r} ({errno.errorcode.get(e, e)}): not killed", flush=True)
