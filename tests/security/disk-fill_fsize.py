# category: disk-fill
# expect-status: success
# RLIMIT_FSIZE (64 MB): a write past 64 MB, even a sparse one that uses no space, must fail
# with EFBIG; so must ftruncate to 1 GB. SIGXFSZ is ignored here first so the refusal shows
# up as an error we can print instead of killing us.
import errno
import os
import signal


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
path = f"/tmp/prsec_big_{os.getpid()}"
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
try:
    os.pwrite(fd, b"x", 100 << 20)
    say("ESCAPED", "fsize:sparse-write", "wrote at offset 100 MB")
except OSError as e:
    say("BLOCKED", "fsize:sparse-write", ename(e.errno))
try:
    os.ftruncate(fd, 1 << 30)
    say("ESCAPED", "fsize:ftruncate", "file extended to 1 GB")
except OSError as e:
    say("BLOCKED", "fsize:ftruncate", ename(e.errno))
os.ftruncate(fd, 0)

written, chunk = 0, b"\x02" * (1 << 20)
try:
    while written < (70 << 20):
        written += os.write(fd, chunk)
    say("ESCAPED", "fsize:sequential", f"{written >> 20} MB in one file")
except OSError as e:
    say("BLOCKED", "fsize:sequential", f"{ename(e.errno)} after {written >> 20} MB")
os.close(fd)
os.unlink(path)
