# category: network
# expect-status: success
# What /proc/net shows is the run's own network namespace: at most a loopback device, no
# routes, no addresses but loopback, no TCP/UDP sockets and no named unix sockets of anyone
# else. The host's would list its interfaces, its listening services and its daemons' sockets.
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


def rows(path, skip=1):
    with open(path) as f:
        return [line.split() for line in f.readlines()[skip:] if line.strip()]


def check(path, test, describe, skip=1):
    try:
        found = [r for r in rows(path, skip) if test(r)]
    except OSError as e:
        say("BLOCKED", f"read:{path}", ename(e.errno))
        return
    if found:
        say("ESCAPED", f"read:{path}", describe(found))
    else:
        say("BLOCKED", f"read:{path}", "nothing of the host")


check("/proc/net/dev", lambda r: r[0].rstrip(":") != "lo",
      lambda f: "interfaces " + ",".join(r[0].rstrip(":") for r in f), skip=2)
check("/proc/net/route", lambda r: True, lambda f: f"{len(f)} routes")
check("/proc/net/ipv6_route", lambda r: r[-1] != "lo", lambda f: f"{len(f)} routes", skip=0)
check("/proc/net/if_inet6", lambda r: r[-1] != "lo", lambda f: "addresses on " + ",".join(r[-1] for r in f), skip=0)
check("/proc/net/arp", lambda r: True, lambda f: f"{len(f)} neighbours")
for proto in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6", "packet"):
    check(f"/proc/net/{proto}", lambda r: True, lambda f: f"{len(f)} sockets of another namespace")
# Unix sockets with a name (path or @abstract) belong to someone else: we made none yet.
check("/proc/net/unix", lambda r: len(r) >= 8,
      lambda f: "named sockets " + ",".join(r[7] for r in f[:8]))
