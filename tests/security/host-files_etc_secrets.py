# category: host-files
# expect-status: success
# Host secrets under /etc. Only the files pyrunner binds read-only from the host
# (ld.so.cache, localtime, matplotlibrc, fonts, alternatives, python3.11, mime.types) may
# be there; a synthetic minimal passwd/group (root, nobody, nogroup) is fine, the host's
# are not.
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


SECRETS = [
    "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/sudoers", "/etc/sudoers.d",
    "/etc/ssh", "/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ed25519_key",
    "/etc/machine-id", "/etc/environment", "/etc/crontab", "/etc/fstab",
    "/etc/security/opasswd", "/etc/ssl/private", "/etc/apt", "/etc/pyrunner",
    "/etc/pyrunner.yaml", "/etc/profile", "/etc/ld.so.preload",
]

for path in SECRETS:
    try:
        if os.path.isdir(path):
            names = os.listdir(path)
            if names:
                say("ESCAPED", f"list:{path}", ",".join(sorted(names)[:8]))
            else:
                say("BLOCKED", f"list:{path}", "empty directory")
            continue
        with open(path, "rb") as f:
            data = f.read(256)
        say("ESCAPED", f"read:{path}", f"{len(data)} bytes readable")
    except OSError as e:
        say("BLOCKED", f"read:{path}", ename(e.errno))

# A synthetic passwd/group naming only the sandbox users is fine; the host's has more.
SYNTHETIC = {"root", "nobody", "nogroup", "nobody-group", "sandbox", "pyrunner", "user"}
for path in ("/etc/passwd", "/etc/group"):
    try:
        with open(path) as f:
            names = {line.split(":", 1)[0] for line in f if ":" in line}
        extra = sorted(names - SYNTHETIC)
        if extra:
            say("ESCAPED", f"read:{path}", "host entries: " + ",".join(extra[:8]))
        else:
            say("BLOCKED", f"read:{path}", "only synthetic entries: " + ",".join(sorted(names)))
    except OSError as e:
        say("BLOCKED", f"read:{path}", ename(e.errno))

try:
    say("INFO", "etc-listing", ",".join(sorted(os.listdir("/etc"))))
except OSError as e:
    say("INFO", "etc-listing", ename(e.errno))
