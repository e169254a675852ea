# category: abi32
# expect-status: success
# The 32-bit and x32 attempts again, each in a child process, so the verdict is printed by
# the parent: every child must be killed by the seccomp filter's SIGSYS. Any other end means
# the filter did not act (a kernel without IA32 emulation kills with SIGSEGV first: there the
# filter's rule cannot be shown, and this program fails). Includes int 0x80 after
# personality(PER_LINUX32).
import ctypes
import os
import signal

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def machine_code(code):
    addr = libc.mmap(None, 4096, 3, 0x22, -1, 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap")
    ctypes.memmove(addr, code, len(code))
    if libc.mprotect(addr, 4096, 5) != 0:
        raise OSError(ctypes.get_errno(), "mprotect")
    return ctypes.CFUNCTYPE(ctypes.c_long)(addr)


GETPID80 = bytes.fromhex("b814000000" "cd80" "c3")
MOUNT80 = bytes.fromhex("53" "31db" "31c9" "31d2" "31f6" "31ff" "b815000000" "cd80" "5b" "c3")


def int80(code):
    return lambda: machine_code(code)()


def x32():
    return libc.syscall(ctypes.c_long(0x40000000 | 39))


def personality_int80():
    libc.personality(0x0008)  # PER_LINUX32
    return machine_code(GETPID80)()


for name, attempt in (("int80-getpid", int80(GETPID80)), ("int80-mount", int80(MOUNT80)),
                      ("x32-getpid", x32), ("per-linux32-int80", personality_int80)):
    pid = os.fork()
    if pid == 0:
        try:
            attempt()
            os._exit(42)  # the syscall returned: not killed
        except OSError:
            os._exit(3)   # no executable memory
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS:
        say("BLOCKED", f"abi32:{name}", "child killed by SIGSYS")
    elif os.WIFSIGNALED(status):
        say("ESCAPED", f"abi32:{name}",
            "child killed by " + signal.Signals(os.WTERMSIG(status)).name + ", not by the filter")
    elif os.WEXITSTATUS(status) == 3:
        say("INFO", f"abi32:{name}", "no executable memory: not tried")
    else:
        say("ESCAPED", f"abi32:{name}", f"syscall returned, child exited {os.WEXITSTATUS(status)}")
