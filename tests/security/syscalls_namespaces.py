# category: syscalls
# expect-status: success
# New namespaces (a user namespace gives full capabilities inside it, the usual first step
# of a kernel exploit) and joining existing ones: unshare, setns, clone and clone3 with
# namespace flags. Each attempt runs in a throwaway child so a success changes nothing here.
import ctypes
import errno
import os


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


def in_child(fn):
    pid = os.fork()
    if pid == 0:
        try:
            fn()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


FLAGS = {"NEWUSER": 0x10000000, "NEWNS": 0x20000, "NEWNET": 0x40000000, "NEWPID": 0x20000000,
         "NEWUTS": 0x04000000, "NEWIPC": 0x08000000, "NEWCGROUP": 0x02000000, "NEWTIME": 0x80}
SIGCHLD = 17

for name, flag in list(FLAGS.items()) + [("NEWUSER|NEWNS", FLAGS["NEWUSER"] | FLAGS["NEWNS"])]:
    def attempt(name=name, flag=flag):
        r, e = sysc(272, flag)
        say("ESCAPED" if r == 0 else "BLOCKED", f"unshare({name})", "new namespace" if r == 0 else ename(e))
    in_child(attempt)

target = "self" if os.getpid() == 1 else "1"
for ns, flag in (("mnt", FLAGS["NEWNS"]), ("net", FLAGS["NEWNET"]), ("pid", FLAGS["NEWPID"]),
                 ("uts", FLAGS["NEWUTS"]), ("ipc", FLAGS["NEWIPC"]), ("user", FLAGS["NEWUSER"]),
                 ("cgroup", FLAGS["NEWCGROUP"]), ("time", FLAGS["NEWTIME"])):
    def attempt(ns=ns, flag=flag):
        try:
            fd = os.open(f"/proc/{target}/ns/{ns}", os.O_RDONLY)
        except OSError as e:
            say("BLOCKED", f"setns({target}/{ns})", "cannot open: " + ename(e.errno))
            return
        r, e = sysc(308, fd, flag)
        say("ESCAPED" if r == 0 else "BLOCKED", f"setns({target}/{ns})", "joined" if r == 0 else ename(e))
    in_child(attempt)

for name in ("NEWUSER", "NEWNET", "NEWPID"):
    def attempt(name=name):
        r, e = sysc(56, FLAGS[name] | SIGCHLD, 0, 0, 0, 0)
        if r == 0:
            os._exit(0)  # the new child: nothing to do
        if r > 0:
            os.waitpid(r, 0)
            say("ESCAPED", f"clone({name})", f"child {r} in a new namespace")
        else:
            say("BLOCKED", f"clone({name})", ename(e))
    in_child(attempt)


class CloneArgs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in ("flags", "pidfd", "child_tid", "parent_tid",
                                              "exit_signal", "stack", "stack_size", "tls",
                                              "set_tid", "set_tid_size", "cgroup")]


for name in ("NEWUSER", "NEWNS"):
    def attempt(name=name):
        args = CloneArgs(flags=FLAGS[name], exit_signal=SIGCHLD)
        r, e = sysc(435, ctypes.byref(args), ctypes.sizeof(args))
        if r == 0:
            os._exit(0)
        if r > 0:
            os.waitpid(r, 0)
            say("ESCAPED", f"clone3({name})", f"child {r} in a new namespace")
        else:
            say("BLOCKED", f"clone3({name})", ename(e))
    in_child(attempt)
