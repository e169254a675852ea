# category: host-files
# expect-status: success
# Kernel interfaces under /proc that must stay closed: kernel memory and log, kernel
# symbol addresses (KASLR), sysrq, and the memory/environment of processes of other users.
import ctypes
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


for path in ("/proc/kcore", "/proc/kmsg", "/proc/kpagecount", "/proc/kpageflags"):
    try:
        with open(path, "rb", buffering=0) as f:
            data = f.read(64)
        say("ESCAPED", f"read:{path}", f"{len(data)} bytes")
    except OSError as e:
        say("BLOCKED", f"read:{path}", ename(e.errno))

# Physical frame numbers of our own pages (needed for rowhammer-style attacks) are hidden
# from processes without CAP_SYS_ADMIN: bits 0-54 of a pagemap entry read as zero.
try:
    buf = ctypes.create_string_buffer(8192)
    buf[0] = b"x"
    addr = ctypes.addressof(buf)
    with open("/proc/self/pagemap", "rb", buffering=0) as f:
        f.seek((addr // 4096) * 8)
        entry = int.from_bytes(f.read(8), "little")
    pfn = entry & ((1 << 55) - 1)
    if pfn:
        say("ESCAPED", "read:/proc/self/pagemap", f"physical frame number visible: {pfn:#x}")
    else:
        say("BLOCKED", "read:/proc/self/pagemap", "frame numbers hidden")
except (OSError, ValueError) as e:
    say("BLOCKED", "read:/proc/self/pagemap", str(e))

# Symbol addresses: unprivileged readers must see zeros.
try:
    with open("/proc/kallsyms") as f:
        lines = [next(f) for _ in range(50)]
    real = [l for l in lines if int(l.split()[0], 16) != 0]
    if real:
        say("ESCAPED", "read:/proc/kallsyms", "kernel addresses visible: " + real[0].strip())
    else:
        say("BLOCKED", "read:/proc/kallsyms", "addresses hidden")
except (OSError, StopIteration, ValueError) as e:
    say("BLOCKED", "read:/proc/kallsyms", ename(getattr(e, "errno", None) or 0))

for path in ("/proc/sysrq-trigger", "/proc/sys/kernel/sysrq"):
    try:
        fd = os.open(path, os.O_WRONLY)
        os.close(fd)
        say("ESCAPED", f"open-write:{path}", "opened for writing")
    except OSError as e:
        say("BLOCKED", f"open-write:{path}", ename(e.errno))

# Processes owned by another uid (e.g. a root init of the namespace): their memory,
# environment, maps and fds must be closed to us.
me = os.getuid()
for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
    try:
        uid = os.stat(f"/proc/{pid}").st_uid
    except OSError:
        continue
    if uid == me:
        continue
    for what in ("mem", "environ", "maps", "stack", "syscall", "fd"):
        path = f"/proc/{pid}/{what}"
        try:
            if what == "fd":
                os.listdir(path)
            else:
                with open(path, "rb", buffering=0) as f:
                    f.read(64)
            say("ESCAPED", f"read:{path}", f"of uid {uid} readable")
        except OSError as e:
            say("BLOCKED", f"read:{path}", ename(e.errno))

try:
    with open("/proc/sys/kernel/core_pattern") as f:
        say("INFO", "core_pattern", f.read().strip())
except OSError as e:
    say("INFO", "core_pattern", ename(e.errno))
