# category: environment
# expect-status: success
# compare-host: hostname uts-namespace
# The run has its own UTS namespace and cannot rename it (no CAP_SYS_ADMIN). The harness
# compares what this prints as `INFO hostname` and `INFO uts-namespace` with the host's own
# hostname and with the UTS namespace of the processes the run was created from: a run that
# shared the host's namespace would show the same.
import ctypes
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


libc = ctypes.CDLL(None, use_errno=True)
name = os.uname().nodename
say("INFO", "hostname", name)
say("INFO", "uts-namespace", os.readlink("/proc/self/ns/uts"))
try:
    with open("/proc/sys/kernel/domainname") as f:
        say("INFO", "domainname", f.read().strip())
except OSError as e:
    say("INFO", "domainname", ename(e.errno))

for func, old in (("sethostname", name.encode()), ("setdomainname", b"(none)")):
    new = b"prsec-renamed"
    ctypes.set_errno(0)
    rc = getattr(libc, func)(new, len(new))
    if rc == 0:
        say("ESCAPED", f"syscall:{func}", "renamed the UTS namespace")
        getattr(libc, func)(old, len(old))
    else:
        say("BLOCKED", f"syscall:{func}", ename(ctypes.get_errno()))

for path in ("/proc/sys/kernel/hostname", "/proc/sys/kernel/domainname"):
    try:
        fd = os.open(path, os.O_WRONLY)
        os.close(fd)
        say("ESCAPED", f"open-write:{path}", "opened for writing")
    except OSError as e:
        say("BLOCKED", f"open-write:{path}", ename(e.errno))
