# category: daemons
# expect-status: success
# A daemon that keeps the run's stdout pipe open and, 2 s after the program ended, writes to
# it. pyrunner must kill it when the main process exits: then the late line never appears
# (and the run neither hangs waiting for EOF nor times out). Named prsecd-stdout.
import ctypes
import os
import time

libc = ctypes.CDLL(None)
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        libc.prctl(15, b"prsecd-stdout", 0, 0, 0)
        time.sleep(2)
        try:
            os.write(1, b"ESCAPED daemon:stdout still alive 2 s after the program ended\n")
        except OSError:
            pass
        while True:
            time.sleep(3600)
    os._exit(0)
os.waitpid(pid, 0)
print("BLOCKED daemon:stdout spawned prsecd-stdout holding stdout", flush=True)
