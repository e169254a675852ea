# category: daemons
# expect-status: success
# A daemon that re-executes itself as a fresh interpreter (new process image, setsid, stdio
# on /dev/null): "prsec-daemon-exec" is in its command line for the harness's survivor check.
import os
import sys

exe = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        devnull = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        try:
            os.execv(exe, [exe, "-c", "import time\nwhile True: time.sleep(3600)", "prsec-daemon-exec"])
        finally:
            os._exit(1)
    os._exit(0)
os.waitpid(pid, 0)
print(f"BLOCKED daemon:exec spawned {exe} prsec-daemon-exec; the harness checks it is gone", flush=True)
