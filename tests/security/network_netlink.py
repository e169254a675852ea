# category: network
# expect-status: success
# AF_NETLINK: routing tables and interfaces, socket diagnostics, audit, netfilter,
# kernel uevents, generic netlink (a large kernel attack surface). All must be refused.
import errno
import socket
import struct


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


AF_NETLINK = getattr(socket, "AF_NETLINK", 16)
PROTOCOLS = {"route": 0, "sock_diag": 4, "xfrm": 6, "audit": 9, "netfilter": 12,
             "kobject_uevent": 15, "generic": 16, "crypto": 21}


def links(sock):
    """Interface names from an RTM_GETLINK dump."""
    req = struct.pack("=LHHLL", 32, 18, 0x301, 1, 0) + struct.pack("=BxHiII", 0, 0, 0, 0, 0)
    sock.send(req)
    names, done = [], False
    while not done:
        data = sock.recv(65536)
        off = 0
        while off + 16 <= len(data):
            length, kind = struct.unpack_from("=LH", data, off)
            if kind == 3 or length == 0:  # NLMSG_DONE
                done = True
                break
            a = off + 32
            while a + 4 <= off + length:
                alen, atype = struct.unpack_from("=HH", data, a)
                if atype == 3 and alen > 4:  # IFLA_IFNAME
                    names.append(data[a + 4:a + alen].rstrip(b"\0").decode())
                a += (alen + 3) & ~3 if alen else 4
            off += (length + 3) & ~3
    return names


for name, proto in PROTOCOLS.items():
    try:
        s = socket.socket(AF_NETLINK, socket.SOCK_RAW, proto)
    except OSError as e:
        say("BLOCKED", f"netlink:{name}", ename(e.errno))
        continue
    detail = "created"
    if name == "route":
        try:
            s.settimeout(1)
            detail += ", interfaces: " + ",".join(links(s))
        except OSError as e:
            detail += ", dump failed: " + ename(e.errno)
    s.close()
    say("ESCAPED", f"netlink:{name}", detail)
