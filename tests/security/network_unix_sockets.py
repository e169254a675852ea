# category: network
# expect-status: success
# Unix sockets are allowed, so the danger is reaching a host daemon through one: the Docker
# and containerd API, systemd, D-Bus, syslog, X11, pyrunner's own control socket, or an
# abstract-namespace socket (those live in the network namespace, e.g. containerd-shim's).
import errno
import os
import socket


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


PATHS = ["/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
         "/run/podman/podman.sock", "/run/dbus/system_bus_socket", "/var/run/dbus/system_bus_socket",
         "/run/systemd/private", "/run/systemd/journal/socket", "/run/systemd/journal/stdout",
         "/run/systemd/notify", "/dev/log", "/tmp/.X11-unix/X0", "/run/user/0/bus",
         "/run/pyrunner/pyrunner.sock", "/run/pyrunner/control.sock", "/var/run/nscd/socket",
         "/run/snapd.socket", "/run/crio/crio.sock", "/var/run/libvirt/libvirt-sock"]
ABSTRACT = ["/tmp/.X11-unix/X0", "/containerd-shim", "/org/freedesktop/systemd1/notify",
            "pyrunner", "/run/pyrunner", "/var/run/dbus/system_bus_socket"]

# Named abstract sockets this namespace can see (we have created none).
try:
    with open("/proc/net/unix") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if len(parts) >= 8 and parts[7].startswith("@"):
                ABSTRACT.append(parts[7][1:])
except OSError:
    pass

for path in PATHS:
    for kind, label in ((socket.SOCK_STREAM, "stream"), (socket.SOCK_DGRAM, "dgram")):
        s = socket.socket(socket.AF_UNIX, kind)
        s.settimeout(0.5)
        try:
            s.connect(path)
            say("ESCAPED", f"unix-{label}:{path}", "connected to a host socket")
        except OSError as e:
            say("BLOCKED", f"unix-{label}:{path}", ename(e.errno))
        finally:
            s.close()

for name in dict.fromkeys(ABSTRACT):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect("\0" + name)
        say("ESCAPED", f"unix-abstract:@{name}", "connected")
    except OSError as e:
        say("BLOCKED", f"unix-abstract:@{name}", ename(e.errno))
    finally:
        s.close()
