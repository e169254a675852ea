# category: limits
# expect-status: success
# timeout: 20
# expect-truncated: true
# Floods stdout and stderr (64 MB each) with hostile bytes: invalid UTF-8, NULs, terminal
# escapes, quotes and braces that would break naive JSON. pyrunner must keep draining both
# pipes (no deadlock, no timeout), cap what it keeps (truncated: true), and still print one
# valid JSON result. The verdict line comes first, so it survives the cap.
import os

print("BLOCKED output:flood the runner caps this output and its JSON stays valid", flush=True)
hostile = b"\xff\xfe\xc3\x28\x00\x1b[2J\x1b]0;title\x07\"}{\\u0000\r\n" * 64
block = (hostile + b"x" * (65536 - len(hostile)))
for _ in range(1024):
    os.write(1, block)
    os.write(2, block)
