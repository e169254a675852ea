# category: network
# expect-status: success
# timeout: 20
# TCP to the loopback of the host: pyrunner's own HTTP port, databases, docker, SSH...
# The run has an empty network namespace and seccomp refuses non-unix sockets, so nothing
# may ever connect. If sockets can be created at all, every port 1-65535 is tried (each
# fails at once in an empty namespace).
import errno
import socket
import time


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


FIRST = [8000, 22, 80, 443, 2375, 2376, 3306, 5432, 6379, 6443, 8080, 8443, 8888, 9000,
         9090, 10250, 11211, 27017, 53, 25, 111, 631, 3000, 5000]
deadline = time.monotonic() + 12

for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1"),
                     (socket.AF_INET, "0.0.0.0")):
    try:
        socket.socket(family, socket.SOCK_STREAM).close()
    except OSError as e:
        say("BLOCKED", f"tcp:{host}", "socket() refused: " + ename(e.errno))
        continue
    say("INFO", f"tcp:{host}", "socket() allowed (seccomp rule missing?)")
    opened, errors, tried = [], {}, 0
    for port in FIRST + [p for p in range(1, 65536) if p not in FIRST]:
        if time.monotonic() > deadline:
            break
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(0.2)
        try:
            rc = s.connect_ex((host, port))
        except OSError as e:
            rc = e.errno
        s.close()
        tried += 1
        if rc == 0:
            opened.append(port)
            if len(opened) >= 10:
                break
        else:
            errors[ename(rc)] = errors.get(ename(rc), 0) + 1
    if opened:
        say("ESCAPED", f"tcp:{host}", "connected to ports " + ",".join(map(str, opened)))
    else:
        say("BLOCKED", f"tcp:{host}", f"{tried} ports refused: {errors}")
