# category: network
# expect-status: success
# UDP and DNS: queries to local resolvers, name resolution through whatever resolver is
# configured, and whether any route leads out (a UDP connect() sends no packet, so this
# probe puts nothing on the wire even when the sandbox is broken).
import errno
import socket
import struct


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


QUERY = struct.pack(">HHHHHH", 0x5053, 0x0100, 1, 0, 0, 0) + b"\x07example\x03com\x00" + \
    struct.pack(">HH", 1, 1)

for server in ("127.0.0.1", "127.0.0.53", "127.0.0.11"):
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except OSError as e:
        say("BLOCKED", f"dns-udp:{server}", "socket() refused: " + ename(e.errno))
        continue
    s.settimeout(0.5)
    try:
        s.sendto(QUERY, (server, 53))
        data, peer = s.recvfrom(4096)
        say("ESCAPED", f"dns-udp:{server}", f"{len(data)} byte answer from {peer}")
    except socket.timeout:
        say("BLOCKED", f"dns-udp:{server}", "no answer")
    except OSError as e:
        say("BLOCKED", f"dns-udp:{server}", ename(e.errno))
    finally:
        s.close()

for family, addr in ((socket.AF_INET, ("192.0.2.1", 9)), (socket.AF_INET6, ("2001:db8::1", 9))):
    try:
        s = socket.socket(family, socket.SOCK_DGRAM)
    except OSError as e:
        say("BLOCKED", f"udp-route:{addr[0]}", "socket() refused: " + ename(e.errno))
        continue
    try:
        s.connect(addr)
        say("ESCAPED", f"udp-route:{addr[0]}", "a route to the outside exists, local " + str(s.getsockname()))
    except OSError as e:
        say("BLOCKED", f"udp-route:{addr[0]}", ename(e.errno))
    finally:
        s.close()

try:
    infos = socket.getaddrinfo("example.com", 80, type=socket.SOCK_STREAM)
    say("ESCAPED", "dns-resolve:example.com", "resolved to " + ",".join(sorted({i[4][0] for i in infos})))
except (socket.gaierror, OSError) as e:
    say("BLOCKED", "dns-resolve:example.com", str(e))
