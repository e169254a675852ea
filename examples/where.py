# What a run sees: `build/pyrunner run --config examples/my.yaml examples/where.py`
# It imports os, which the default policy refuses; examples/my.yaml switches the policy off.
import os
import sys

print("uid", os.getuid(), "cwd", os.getcwd(), "HOME", os.environ["HOME"])
print("cpus", os.cpu_count(), "encoding", sys.getfilesystemencoding())
with open("notes.txt", "w") as f:  # the working directory is the run's own, and writable
    f.write("π ≈ 3.14159\n")
print(open("notes.txt").read(), end="")
