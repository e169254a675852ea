# category: daemons
# expect-status: success
# A classic daemon: fork, setsid, fork again, close stdio, ignore SIGTERM/SIGHUP/SIGINT,
# sleep forever. Its process name is "prsecd-dfork" so the harness can check, after the
# run, that it did not survive. The program itself ends at once.
import ctypes
import os
import signal
import time

libc = ctypes.CDLL(None)
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        libc.prctl(15, b"prsecd-dfork", 0, 0, 0)  # PR_SET_NAME
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        devnull = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        while True:
            time.sleep(3600)
    os._exit(0)
os.waitpid(pid, 0)
print("BLOCKED daemon:double-fork spawned prsecd-dfork; the harness checks it is gone", flush=True)
