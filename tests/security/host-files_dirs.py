# category: host-files
# expect-status: success
# Host directories and the pyrunner config file must not be visible. Also walks the whole
# visible tree (outside /usr, /proc, /sys, /dev) for anything that looks like the host's
# config or holds the test secret.
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e))


CANARY = ("hunter2-" + "canary").encode()

# The run's own working directory (/home/user, also reachable as /mnt/data) is not the host's:
# an entry that is that very directory does not count as host contents.
_cwd = os.stat(".")
OWN = (_cwd.st_dev, _cwd.st_ino)


def host_entries(path):
    names = []
    for name in os.listdir(path):
        try:
            st = os.stat(os.path.join(path, name))
            if (st.st_dev, st.st_ino) == OWN:
                continue
        except OSError:
            pass
        names.append(name)
    return names


# Directories whose mere contents belong to the host (empty or missing is fine).
HOST_DIRS = ["/root", "/home", "/home/user", "/work", "/work/main", "/work/main/config", "/work/shared",
             "/var/log", "/var/lib", "/var/cache", "/run/pyrunner", "/run/user", "/srv",
             "/opt", "/mnt", "/media", "/boot", "/lost+found", "/snap"]
for path in HOST_DIRS:
    try:
        names = host_entries(path)
        if names:
            say("ESCAPED", f"list:{path}", ",".join(sorted(names)[:8]))
        else:
            say("BLOCKED", f"list:{path}", "nothing of the host")
    except OSError as e:
        say("BLOCKED", f"list:{path}", ename(e.errno))
if os.path.realpath("/mnt/data") != "/home/user":
    say("ESCAPED", "link:/mnt/data", "points to " + os.path.realpath("/mnt/data"))

CONFIGS = ["/work/main/config/pyrunner.yaml", "config/pyrunner.yaml", "../config/pyrunner.yaml",
           "../../config/pyrunner.yaml", "/proc/self/cwd/config/pyrunner.yaml",
           "/etc/pyrunner/pyrunner.yaml", "/run/pyrunner/pyrunner.yaml"]
for path in CONFIGS:
    try:
        with open(path, "rb") as f:
            data = f.read(4096)
        say("ESCAPED", f"read:{path}", f"{len(data)} bytes of config readable")
    except OSError as e:
        say("BLOCKED", f"read:{path}", ename(e.errno))

for path in ("/var", "/run", "/"):
    try:
        say("INFO", f"list:{path}", ",".join(sorted(os.listdir(path))))
    except OSError as e:
        say("INFO", f"list:{path}", ename(e.errno))

# Walk what is visible outside the bound /usr and the pseudo file systems.
SKIP = {"/usr", "/proc", "/sys", "/dev"}
found = []
files = 0
for top, dirs, names in os.walk("/", onerror=lambda e: None):
    dirs[:] = [d for d in dirs if os.path.join(top, d) not in SKIP and top.count("/") < 8]
    for name in names:
        files += 1
        if files > 5000:
            break
        path = os.path.join(top, name)
        low = name.lower()
        if "pyrunner" in low or low.endswith((".yaml", ".yml")):
            found.append(path)
            continue
        try:
            if os.path.isfile(path) and os.path.getsize(path) <= (1 << 20):
                with open(path, "rb") as f:
                    if CANARY in f.read():
                        found.append(path + "(secret)")
        except OSError:
            pass
if found:
    say("ESCAPED", "walk:/", "host config or secret visible: " + ",".join(found[:8]))
else:
    say("BLOCKED", "walk:/", f"{files} files outside /usr, none looks like host config")
