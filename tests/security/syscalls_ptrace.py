# category: syscalls
# expect-status: success
# ptrace and cross-process memory access. Even our own child must not be attachable
# (seccomp refuses ptrace and process_vm_*), and neither may pid 1 or our parent. A
# successful attach is detached again at once.
import ctypes
import errno
import os
import signal
import time


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


PTRACE_ATTACH, PTRACE_DETACH, PTRACE_SEIZE, PTRACE_PEEKDATA = 16, 17, 0x4206, 2
secret = ctypes.create_string_buffer(b"prsec-child-memory", 64)

child = os.fork()
if child == 0:
    libc.prctl(15, b"prsecd-ptrace", 0, 0, 0)  # PR_SET_NAME
    time.sleep(30)
    os._exit(0)
time.sleep(0.1)

targets = [("child", child)]
if os.getpid() != 1:
    targets.append(("pid1", 1))
if os.getppid() not in (0, 1):
    targets.append(("parent", os.getppid()))

for label, pid in targets:
    for req, name in ((PTRACE_ATTACH, "ATTACH"), (PTRACE_SEIZE, "SEIZE")):
        r, e = sysc(101, req, pid, 0, 0)
        if r == 0:
            say("ESCAPED", f"ptrace({name},{label})", f"attached to pid {pid}")
            time.sleep(0.05)
            sysc(101, PTRACE_DETACH, pid, 0, 0)
        else:
            say("BLOCKED", f"ptrace({name},{label})", ename(e))


class IOVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


buf = ctypes.create_string_buffer(64)
local = IOVec(ctypes.cast(buf, ctypes.c_void_p), 64)
for label, pid in targets:
    # Other processes are probed at an address that is never mapped (0x1000), so nothing is
    # written even if access is granted: EFAULT then means the access check passed.
    addr = ctypes.cast(secret, ctypes.c_void_p).value if label == "child" else 0x1000
    remote = IOVec(addr, 64)
    for nr, name in ((310, "process_vm_readv"), (311, "process_vm_writev")):
        r, e = sysc(nr, pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
        if r > 0 or e == errno.EFAULT:
            say("ESCAPED", f"{name}({label})", f"access to pid {pid} granted ({r} bytes, {ename(e)})")
        else:
            say("BLOCKED", f"{name}({label})", ename(e))

os.kill(child, signal.SIGKILL)
os.waitpid(child, 0)
