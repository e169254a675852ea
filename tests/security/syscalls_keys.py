# category: syscalls
# expect-status: success
# The kernel keyring is not namespaced: the user keyring of uid 65534 is shared by every
# run (and every 'nobody' process of the host), so a key added here would be a channel to
# other runs. add_key, keyctl and request_key are refused by seccomp.
import ctypes
import errno


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


KEY_SPEC_SESSION, KEY_SPEC_USER = -3, -4
KEYCTL_GET_KEYRING_ID, KEYCTL_JOIN_SESSION, KEYCTL_READ, KEYCTL_INVALIDATE = 0, 1, 11, 21

r, e = sysc(248, b"user", b"prsec-channel", b"x", 1, KEY_SPEC_USER)
if r > 0:
    say("ESCAPED", "add_key(user-keyring)", f"key {r} added to the shared user keyring")
    sysc(250, KEYCTL_INVALIDATE, r, 0, 0, 0)
else:
    say("BLOCKED", "add_key(user-keyring)", ename(e))

for name, spec in (("user", KEY_SPEC_USER), ("session", KEY_SPEC_SESSION)):
    r, e = sysc(250, KEYCTL_GET_KEYRING_ID, spec, 0, 0, 0)
    say("ESCAPED" if r > 0 else "BLOCKED", f"keyctl(GET_KEYRING_ID,{name})",
        f"keyring {r}" if r > 0 else ename(e))

r, e = sysc(250, KEYCTL_JOIN_SESSION, None, 0, 0, 0)
say("ESCAPED" if r > 0 else "BLOCKED", "keyctl(JOIN_SESSION_KEYRING)", f"keyring {r}" if r > 0 else ename(e))

r, e = sysc(249, b"user", b"prsec-channel", None, 0)
say("ESCAPED" if r > 0 else "BLOCKED", "request_key(user)", f"key {r}" if r > 0 else ename(e))
