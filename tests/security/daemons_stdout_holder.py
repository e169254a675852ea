# category: daemons
# expect-status: success
# A daemon that keeps the run's stdout pipe open and writes to it the moment the program has
# ended: it watches the main process and, as soon as that has exited (a zombie, or gone),
# writes ESCAPED lines for a second. pyrunner must have killed it by then: the run's PID 1 is
# the main process, and the kernel kills everything else in its PID namespace before PID 1
# even becomes a zombie, so with the sandbox intact the daemon never sees that state. While it
# lives it holds stdout open, so the executor keeps reading (its drain after the main exit),
# and a surviving daemon's lines reach the result. Nor may the run hang waiting for EOF or
# time out. Named prsecd-stdout for the survivor check.
import ctypes
import os
import time

libc = ctypes.CDLL(None)
main = os.getpid()


def main_has_exited():
    try:
        with open(f"/proc/{main}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # gone: reaped already
    return state in ("Z", "X")


pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        libc.prctl(15, b"prsecd-stdout", 0, 0, 0)  # PR_SET_NAME
        while not main_has_exited():
            time.sleep(0.002)
        for _ in range(50):
            try:
                os.write(1, b"ESCAPED daemon:stdout still alive and writing after the program ended\n")
            except OSError:
                break
            time.sleep(0.02)
        while True:
            time.sleep(3600)
    os._exit(0)
os.waitpid(pid, 0)
print("BLOCKED daemon:stdout prsecd-stdout holds stdout and writes once we have exited", flush=True)
