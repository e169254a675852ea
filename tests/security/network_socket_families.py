# category: network
# expect-status: success
# Every address family but AF_UNIX must be refused at socket() (seccomp: EAFNOSUPPORT).
# Besides IP this covers the rarely used families that keep turning up in kernel CVEs
# (vsock, TIPC, RDS, CAN, AF_ALG, AF_KEY, XDP, Bluetooth, ...). Raw libc calls, so no
# Python wrapper gets in the way.
import ctypes
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


libc = ctypes.CDLL(None, use_errno=True)
created, refusals = [], {}
for family in range(2, 46):
    for kind in (1, 2, 3, 5):  # STREAM, DGRAM, RAW, SEQPACKET
        ctypes.set_errno(0)
        fd = libc.socket(family, kind, 0)
        if fd >= 0:
            os.close(fd)
            created.append(f"{family}/{kind}")
        else:
            e = ename(ctypes.get_errno())
            refusals[e] = refusals.get(e, 0) + 1
if created:
    say("ESCAPED", "socket:families", "created family/type " + ",".join(created[:20]))
else:
    say("BLOCKED", "socket:families", f"all refused: {refusals}")

# AF_UNIX itself stays allowed (Python's multiprocessing needs it): a sanity check only.
ctypes.set_errno(0)
fd = libc.socket(1, 1, 0)
say("INFO", "socket:unix", "allowed" if fd >= 0 else "refused " + ename(ctypes.get_errno()))
if fd >= 0:
    os.close(fd)
