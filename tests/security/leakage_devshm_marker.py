# category: leakage
# expect-status: success
# runs: 2
# /dev/shm (POSIX shared memory, used by multiprocessing) must be private to each run: run 1
# leaves a marker, run 2 must not see it.
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


MARK = "/dev/shm/prsec_leak_marker"
try:
    with open(MARK) as f:
        say("ESCAPED", "leak:/dev/shm", "marker of an earlier run found: " + f.read().strip())
except FileNotFoundError:
    say("BLOCKED", "leak:/dev/shm", "no marker of an earlier run")
except OSError as e:
    say("BLOCKED", "leak:/dev/shm", str(e))
try:
    others = sorted(os.listdir("/dev/shm"))
    say("INFO", "list:/dev/shm", ",".join(others))
    with open(MARK, "w") as f:
        f.write(f"pid {os.getpid()} {os.urandom(4).hex()}")
except OSError as e:
    say("INFO", "leak:/dev/shm", "could not leave a marker: " + str(e))
