# category: leakage
# expect-status: success
# concurrent-activity: true
# inotify watches on files shared read-only with the host (/etc/ld.so.cache, the python
# binary, os.py) report opens and reads by *any* process on the machine: other runs and host
# processes. That is a side channel (what other runs do, and when) and a covert channel
# between two concurrent runs. We watch for 2 s while idle: any event comes from outside
# the run. Only shows when something else is active meanwhile, hence the
# concurrent-activity header (the harness starts short processes while this runs).
# Refusing inotify_init/inotify_init1/fanotify_init in seccomp makes the verdict certain.
# Where inotify is allowed, BLOCKED needs proof that the watches work: at least one file
# watched, and an event for our own read of it after the window. Otherwise INFO only.
import ctypes
import errno
import os
import select
import time


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


libc = ctypes.CDLL(None, use_errno=True)
ctypes.set_errno(0)
fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
if fd < 0:
    say("BLOCKED", "inotify:init", errno.errorcode.get(ctypes.get_errno(), "?"))
else:
    IN_ACCESS, IN_OPEN = 0x1, 0x20
    watched = []
    for path in ("/etc/ld.so.cache", os.path.realpath("/usr/bin/python3"),
                 "/usr/lib/python3.11/os.py", "/usr/lib/x86_64-linux-gnu/libc.so.6"):
        if libc.inotify_add_watch(fd, path.encode(), IN_ACCESS | IN_OPEN) >= 0:
            watched.append(path)
    say("INFO", "inotify:watches", ",".join(watched) or "none")
    time.sleep(0.1)
    try:  # anything caused by our own start-up
        while os.read(fd, 65536):
            pass
    except BlockingIOError:
        pass
    events, end = 0, time.monotonic() + 2.0
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                events += len(os.read(fd, 65536)) // 16
            except BlockingIOError:
                pass
    # Our own read of a watched file must show: otherwise no event could ever have shown.
    own = 0
    if watched:
        with open(watched[0], "rb") as f:
            f.read(1)
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            try:
                own = len(os.read(fd, 65536)) // 16
            except BlockingIOError:
                pass
    if events:
        say("ESCAPED", "inotify:shared-files", f"{events} events from processes outside this run")
    elif not watched or not own:
        say("INFO", "inotify:shared-files",
            f"watches not shown to work ({len(watched)} files watched, {own} events for our own read)")
    else:
        say("BLOCKED", "inotify:shared-files",
            f"no outside activity seen on {len(watched)} watched files (our own read seen)")
