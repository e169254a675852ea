# category: host-files
# expect-status: success
# /sys is not part of the sandbox. Whatever sysfs view may exist must not expose the host's
# hardware identity, disks, network devices, kernel debug/security interfaces or firmware.
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


try:
    say("INFO", "list:/sys", ",".join(sorted(os.listdir("/sys"))))
except OSError as e:
    say("INFO", "list:/sys", ename(e.errno))

FILES = ["/sys/devices/virtual/dmi/id/product_uuid", "/sys/devices/virtual/dmi/id/product_serial",
         "/sys/devices/virtual/dmi/id/board_serial", "/sys/firmware/dmi/tables/DMI"]
for path in FILES:
    try:
        with open(path, "rb") as f:
            f.read(64)
        say("ESCAPED", f"read:{path}", "readable")
    except OSError as e:
        say("BLOCKED", f"read:{path}", ename(e.errno))

DIRS = ["/sys/block", "/sys/class/block", "/sys/kernel/debug", "/sys/kernel/security",
        "/sys/kernel/tracing", "/sys/firmware", "/sys/module", "/sys/bus/pci/devices",
        "/sys/fs/bpf", "/sys/fs/fuse/connections"]
for path in DIRS:
    try:
        names = os.listdir(path)
        if names:
            say("ESCAPED", f"list:{path}", ",".join(sorted(names)[:8]))
        else:
            say("BLOCKED", f"list:{path}", "empty")
    except OSError as e:
        say("BLOCKED", f"list:{path}", ename(e.errno))

# A read-only view of the run's own cgroup would be acceptable: report only.
try:
    say("INFO", "list:/sys/fs/cgroup", ",".join(sorted(os.listdir("/sys/fs/cgroup"))[:20]))
except OSError as e:
    say("INFO", "list:/sys/fs/cgroup", ename(e.errno))

# Network devices: only a loopback of the run's own network namespace may appear.
try:
    devs = sorted(os.listdir("/sys/class/net"))
    if set(devs) - {"lo"}:
        say("ESCAPED", "list:/sys/class/net", ",".join(devs))
    else:
        say("BLOCKED", "list:/sys/class/net", "only " + (",".join(devs) or "nothing"))
except OSError as e:
    say("BLOCKED", "list:/sys/class/net", ename(e.errno))
