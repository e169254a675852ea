# category: leakage
# expect-status: success
# runs: 2
# Each run has a fresh /tmp. Run 1 leaves a marker file (and directory); run 2 must not
# see it. Every run first looks, then leaves its own marker.
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


MARK = "/tmp/prsec_leak_marker"
try:
    with open(MARK) as f:
        say("ESCAPED", "leak:/tmp", "marker of an earlier run found: " + f.read().strip())
except FileNotFoundError:
    say("BLOCKED", "leak:/tmp", "no marker of an earlier run")
except OSError as e:
    say("BLOCKED", "leak:/tmp", str(e))
if os.path.isdir(MARK + ".d"):
    say("ESCAPED", "leak:/tmp-dir", "marker directory of an earlier run found")
else:
    say("BLOCKED", "leak:/tmp-dir", "no marker directory")
try:
    say("INFO", "list:/tmp", ",".join(sorted(os.listdir("/tmp"))))
    with open(MARK, "w") as f:
        f.write(f"pid {os.getpid()} {os.urandom(4).hex()}")
    os.makedirs(MARK + ".d", exist_ok=True)
except OSError as e:
    say("INFO", "leak:/tmp", "could not leave a marker: " + str(e))
