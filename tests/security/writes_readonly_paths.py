# category: writes
# expect-status: success
# Creating files or directories anywhere but /tmp must fail: the sandbox root, the
# read-only /usr bind (incl. Python's own module directories, where a planted module would
# run inside every later run), /etc, /dev, /proc. Nothing existing is ever modified: new,
# uniquely named entries only, removed again if the sandbox let them through.
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


name = f"prsec_{os.getpid()}_{os.urandom(4).hex()}"
DIRS = ["/", "/usr", "/usr/bin", "/usr/lib", "/usr/lib/python3.11", "/usr/lib/python3/dist-packages",
        "/usr/local/lib", "/usr/share", "/etc", "/etc/python3.11", "/etc/fonts", "/dev", "/dev/pts",
        "/proc", "/proc/sys", "/run", "/var", "/root", "/home", "/sys"]

for d in DIRS:
    if not os.path.isdir(d):
        say("BLOCKED", f"create:{d}", "no such directory")
        continue
    path = os.path.join(d, name + ".py")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.close(fd)
        say("ESCAPED", f"create:{d}", "file created")
        os.unlink(path)
    except OSError as e:
        say("BLOCKED", f"create:{d}", ename(e.errno))
    path = os.path.join(d, name + "_dir")
    try:
        os.mkdir(path)
        say("ESCAPED", f"mkdir:{d}", "directory created")
        os.rmdir(path)
    except OSError as e:
        say("BLOCKED", f"mkdir:{d}", ename(e.errno))
    # An unnamed file on the same file system (O_TMPFILE) still writes to that file system.
    try:
        fd = os.open(d, os.O_WRONLY | getattr(os, "O_TMPFILE", 0o20200000), 0o600)
        os.close(fd)
        say("ESCAPED", f"tmpfile:{d}", "O_TMPFILE opened")
    except OSError as e:
        say("BLOCKED", f"tmpfile:{d}", ename(e.errno))

# Opening existing files for writing (O_APPEND, nothing written, nothing truncated).
for path in ("/usr/bin/python3", "/usr/lib/python3.11/os.py", "/etc/ld.so.cache",
             "/etc/localtime", "/etc/matplotlibrc"):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.close(fd)
        say("ESCAPED", f"open-write:{path}", "opened for writing")
    except OSError as e:
        say("BLOCKED", f"open-write:{path}", ename(e.errno))

# Positive control: /tmp is the run's own and writable.
try:
    with open(f"/tmp/{name}", "w") as f:
        f.write("ok")
    os.unlink(f"/tmp/{name}")
    say("INFO", "write:/tmp", "writable as expected")
except OSError as e:
    say("INFO", "write:/tmp", "not writable: " + ename(e.errno))
