# category: fork-bomb
# expect-status: error
# memory: 1024
# The classic: every process forks forever, nobody handles errors. Once pids.max is reached
# each failing fork raises BlockingIOError and ends its process; the main process soon hits
# one too, so the run ends in error, and everything left is killed with it. The host and
# later runs must not notice. Named prsecd-bomb (inherited by every fork) for the survivor check.
import ctypes
import os

ctypes.CDLL(None).prctl(15, b"prsecd-bomb", 0, 0, 0)  # PR_SET_NAME
while True:
    os.fork()
