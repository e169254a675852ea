# category: writes
# expect-status: success
# Indirect writes to read-only host files: re-opening a /usr file for writing through its
# /proc/self/fd magic link, chmod to the same mode, user xattrs, hard and symbolic links
# placed next to it. Each is harmless if it succeeds (no content or mode changes).
import errno
import os
import stat


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


TARGET = os.path.realpath("/usr/lib/python3.11/os.py")
tag = f"prsec_{os.getpid()}"

try:
    rfd = os.open(TARGET, os.O_RDONLY)
    try:
        wfd = os.open(f"/proc/self/fd/{rfd}", os.O_WRONLY | os.O_APPEND)
        os.close(wfd)
        say("ESCAPED", "reopen-write:/proc/self/fd", f"{TARGET} reopened for writing")
    except OSError as e:
        say("BLOCKED", "reopen-write:/proc/self/fd", ename(e.errno))
    os.close(rfd)
except OSError as e:
    say("BLOCKED", "reopen-write:/proc/self/fd", "cannot open: " + ename(e.errno))

for path in (TARGET, os.path.realpath("/usr/bin/python3"), os.path.realpath("/etc/localtime"), "/usr"):
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        os.chmod(path, mode)
        say("ESCAPED", f"chmod:{path}", "chmod allowed")
    except OSError as e:
        say("BLOCKED", f"chmod:{path}", ename(e.errno))
    try:
        os.utime(path)
        say("ESCAPED", f"utime:{path}", "timestamps changed")
    except OSError as e:
        say("BLOCKED", f"utime:{path}", ename(e.errno))

try:
    os.setxattr(TARGET, "user.prsec", b"1")
    say("ESCAPED", "setxattr:/usr", "xattr set on a host file")
    os.removexattr(TARGET, "user.prsec")
except OSError as e:
    say("BLOCKED", "setxattr:/usr", ename(e.errno))

here = os.path.dirname(TARGET)
for kind, make in (("hardlink", os.link), ("symlink", os.symlink)):
    dst = os.path.join(here, f"{tag}_{kind}.py")
    try:
        make(TARGET, dst)
        say("ESCAPED", f"{kind}:{here}", "link created next to a host file")
        os.unlink(dst)
    except OSError as e:
        say("BLOCKED", f"{kind}:{here}", ename(e.errno))
