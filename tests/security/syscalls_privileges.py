# category: syscalls
# expect-status: success
# Who are we? uid/gid 65534 everywhere (real, effective, saved), no supplementary groups but
# 65534, no capabilities (permitted, effective, inheritable, ambient), no_new_privs set,
# seccomp in filter mode. And none of setuid(0), setgid(0), setgroups, capset, raising an
# ambient capability or a set-uid binary can change that.
import ctypes
import errno
import os
import stat


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


uids, gids, groups = os.getresuid(), os.getresgid(), os.getgroups()
say("ESCAPED" if set(uids) != {65534} else "BLOCKED", "ids:uid", str(uids))
say("ESCAPED" if set(gids) != {65534} else "BLOCKED", "ids:gid", str(gids))
say("ESCAPED" if set(groups) - {65534} else "BLOCKED", "ids:groups", str(groups))

status = {}
try:
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            status[k] = v.strip()
except OSError as e:
    say("INFO", "status", "unreadable: " + ename(e.errno))
for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
    value = int(status.get(cap, "0"), 16)
    say("ESCAPED" if value else "BLOCKED", f"status:{cap}", status.get(cap, "absent"))
say("INFO", "status:CapBnd", status.get("CapBnd", "absent"))
say("BLOCKED" if status.get("NoNewPrivs") == "1" else "ESCAPED", "status:NoNewPrivs", status.get("NoNewPrivs", "absent"))
say("BLOCKED" if status.get("Seccomp") == "2" else "ESCAPED", "status:Seccomp", status.get("Seccomp", "absent"))
try:
    with open("/proc/self/uid_map") as f:
        say("INFO", "uid_map", f.read().strip().replace("\n", ";"))
except OSError as e:
    say("INFO", "uid_map", ename(e.errno))

ATTEMPTS = [
    ("setuid(0)", 105, (0,)), ("setgid(0)", 106, (0,)), ("setresuid(0,0,0)", 117, (0, 0, 0)),
    ("setresgid(0,0,0)", 119, (0, 0, 0)), ("setreuid(0,0)", 113, (0, 0)),
]
for name, nr, args in ATTEMPTS:
    r, e = sysc(nr, *args)
    say("ESCAPED" if r == 0 else "BLOCKED", name, "became root" if r == 0 else ename(e))

zero = (ctypes.c_uint * 1)(0)
r, e = sysc(116, 1, zero)  # setgroups([0])
say("ESCAPED" if r == 0 else "BLOCKED", "setgroups([0])", "joined group 0" if r == 0 else ename(e))

sysc(122, 0)  # setfsuid(0) always returns the old value; read the new one back
r, _ = sysc(122, -1)
say("ESCAPED" if r == 0 else "BLOCKED", "setfsuid(0)", f"fsuid now {r}")


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


hdr = CapHeader(0x20080522, 0)
data = (CapData * 2)(CapData(0xffffffff, 0xffffffff, 0xffffffff), CapData(0x1ff, 0x1ff, 0x1ff))
r, e = sysc(126, ctypes.byref(hdr), data)  # capset
say("ESCAPED" if r == 0 else "BLOCKED", "capset(all)", "capabilities granted" if r == 0 else ename(e))

r, e = sysc(157, 47, 2, 21, 0, 0)  # prctl(PR_CAP_AMBIENT, RAISE, CAP_SYS_ADMIN)
say("ESCAPED" if r == 0 else "BLOCKED", "prctl(CAP_AMBIENT_RAISE)", "raised" if r == 0 else ename(e))

# Set-uid binaries under /usr are harmless only with no_new_privs or a nosuid mount.
suid = []
for d in ("/usr/bin", "/usr/sbin", "/usr/lib/dbus-1.0", "/usr/lib/openssh"):
    try:
        for name in os.listdir(d):
            try:
                st = os.stat(os.path.join(d, name))
            except OSError:
                continue
            if st.st_mode & (stat.S_ISUID | stat.S_ISGID) and stat.S_ISREG(st.st_mode):
                suid.append(os.path.join(d, name))
    except OSError:
        pass
nosuid = False
try:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            if parts[4] == "/usr":
                nosuid = "nosuid" in parts[5].split(",")
except OSError:
    pass
if suid and status.get("NoNewPrivs") != "1" and not nosuid:
    say("ESCAPED", "setuid-binaries", "usable: " + ",".join(suid[:6]))
else:
    say("BLOCKED", "setuid-binaries", f"{len(suid)} present, no_new_privs={status.get('NoNewPrivs')} nosuid={nosuid}")
