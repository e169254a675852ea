# category: network
# expect-status: success
# Raw IP, ICMP ("ping") and AF_PACKET sockets: sniffing or forging traffic. All must be
# refused (seccomp answers EAFNOSUPPORT for every non-unix family).
import errno
import socket


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


AF_PACKET = getattr(socket, "AF_PACKET", 17)
CASES = [
    ("raw-icmp", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
    ("raw-ip", socket.AF_INET, socket.SOCK_RAW, 255),
    ("raw-tcp", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP),
    ("raw-icmpv6", socket.AF_INET6, socket.SOCK_RAW, 58),
    ("ping-icmp", socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP),
    ("ping-icmpv6", socket.AF_INET6, socket.SOCK_DGRAM, 58),
    ("packet-raw", AF_PACKET, socket.SOCK_RAW, socket.htons(3)),
    ("packet-dgram", AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800)),
]
for name, family, kind, proto in CASES:
    try:
        s = socket.socket(family, kind, proto)
    except OSError as e:
        say("BLOCKED", f"socket:{name}", ename(e.errno))
        continue
    s.close()
    say("ESCAPED", f"socket:{name}", "created")
