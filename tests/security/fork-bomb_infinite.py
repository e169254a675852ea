# category: fork-bomb
# expect-status: timeout
# timeout: 3
# memory: 1024
# A fork bomb that ignores failures: 64 processes spinning on fork() forever, the main one
# among them. Only the wall-clock timeout ends it; afterwards every process must be gone
# and the host must not have felt it (one CPU, 64 tasks at most). Named prsecd-bomb.
import ctypes
import os

ctypes.CDLL(None).prctl(15, b"prsecd-bomb", 0, 0, 0)  # PR_SET_NAME
while True:
    try:
        os.fork()
    except OSError:
        pass
