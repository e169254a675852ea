# category: fork-bomb
# expect-status: success
# memory: 1024
# A shell fork bomb started in the background, after which the program just ends: the bomb
# must be confined by pids.max while it runs and die with the run. Its processes carry
# "prsec-daemon" in their command line for the harness's survivor check.
import os
import subprocess
import time


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


sh = "/usr/bin/sh" if os.path.exists("/usr/bin/sh") else "/bin/sh"
try:
    subprocess.Popen([sh, "-c", "b(){ b | b & }; b", "prsec-daemon-shellbomb"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
except OSError as e:
    say("BLOCKED", "fork:shell-bomb", f"could not start {sh}: {e}")
else:
    time.sleep(1.5)
    try:
        count = sum(1 for p in os.listdir("/proc") if p.isdigit())
    except OSError:
        count = -1
    if count > 70:
        say("ESCAPED", "fork:shell-bomb", f"{count} processes visible: pids.max not enforced")
    else:
        say("BLOCKED", "fork:shell-bomb", f"{count} processes visible after 1.5 s")
