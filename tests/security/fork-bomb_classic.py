# category: fork-bomb
# expect-status: error
# expect-error: BlockingIOError: [Errno 11] Resource temporarily unavailable
# memory: 1024
# The classic: every process forks forever, nobody handles errors. Once pids.max is reached
# each failing fork raises BlockingIOError (EAGAIN: pids.max) and ends its process; the main
# process soon hits one too, so the run ends in error with that exception, and everything
# left is killed with it (a bomb stopped by memory or time instead would end otherwise). The host and
# later runs must not notice. Named prsecd-bomb (inherited by every fork) for the survivor check.
import ctypes
import os

ctypes.CDLL(None).prctl(15, b"prsecd-bomb", 0, 0, 0)  # PR_SET_NAME
while True:
    os.fork()
