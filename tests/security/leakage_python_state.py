# category: leakage
# expect-status: success
# runs: 2
# Interpreter state must not outlive a run (a pooled child must never serve twice): run 1
# marks builtins, sys, an imported module, os.environ, sys.path and sys.modules; run 2 must
# find none of it. Every run looks first, then marks.
import builtins
import math
import os
import sys


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


CHECKS = {
    "builtins": lambda: hasattr(builtins, "_prsec_mark"),
    "sys": lambda: hasattr(sys, "_prsec_mark"),
    "math": lambda: hasattr(math, "_prsec_mark"),
    "environ": lambda: "PRSEC_MARK" in os.environ,
    "sys.path": lambda: "/tmp/prsec_mark_path" in sys.path,
    "sys.modules": lambda: "prsec_mark_module" in sys.modules,
}
try:
    import numpy
    CHECKS["numpy"] = lambda: hasattr(numpy, "_prsec_mark")
except ImportError:
    numpy = None

for name, seen in CHECKS.items():
    if seen():
        say("ESCAPED", f"leak:{name}", "marker of an earlier run found")
    else:
        say("BLOCKED", f"leak:{name}", "clean")

builtins._prsec_mark = sys._prsec_mark = math._prsec_mark = True
os.environ["PRSEC_MARK"] = "1"
sys.path.append("/tmp/prsec_mark_path")
sys.modules["prsec_mark_module"] = math
if numpy is not None:
    numpy._prsec_mark = True
