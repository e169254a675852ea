# category: writes
# expect-status: success
# Kernel knobs under /proc: core_pattern and modprobe (host code execution), sysrq,
# drop_caches, binfmt_misc, hostname, and the OOM score of ourselves (protecting the
# process from the OOM killer needs CAP_SYS_RESOURCE) and of pid 1. Files are only opened
# for writing, except oom_score_adj, where lowering is the attack itself.
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


PATHS = ["/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe", "/proc/sys/kernel/hostname",
         "/proc/sys/kernel/panic", "/proc/sys/kernel/randomize_va_space", "/proc/sys/kernel/sysrq",
         "/proc/sys/vm/drop_caches", "/proc/sys/vm/overcommit_memory", "/proc/sys/fs/binfmt_misc/register",
         "/proc/sys/net/ipv4/ip_forward", "/proc/sys/user/max_user_namespaces", "/proc/sysrq-trigger"]
if os.getpid() != 1:
    PATHS.append("/proc/1/mem")
    try:
        if os.stat("/proc/1").st_uid != os.getuid():
            PATHS.append("/proc/1/oom_score_adj")
    except OSError:
        pass
for path in PATHS:
    try:
        fd = os.open(path, os.O_WRONLY)
        os.close(fd)
        say("ESCAPED", f"open-write:{path}", "opened for writing")
    except OSError as e:
        say("BLOCKED", f"open-write:{path}", ename(e.errno))

try:
    with open("/proc/self/oom_score_adj") as f:
        before = f.read().strip()
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("-1000")
        say("ESCAPED", "write:/proc/self/oom_score_adj", f"lowered from {before} to -1000")
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(before)
    except OSError as e:
        say("BLOCKED", "write:/proc/self/oom_score_adj", f"-1000 refused ({before} kept): " + ename(e.errno))
except OSError as e:
    say("BLOCKED", "write:/proc/self/oom_score_adj", ename(e.errno))

for path, value in (("/proc/self/uid_map", "0 0 1"), ("/proc/self/gid_map", "0 0 1"),
                    ("/proc/self/setgroups", "allow")):
    try:
        with open(path, "w") as f:
            f.write(value)
        say("ESCAPED", f"write:{path}", f"wrote {value!r}")
    except OSError as e:
        say("BLOCKED", f"write:{path}", ename(e.errno))
