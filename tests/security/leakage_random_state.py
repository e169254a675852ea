# category: leakage
# expect-status: success
# runs: 3
# runs-differ: true
# Runs forked from one warm zygote inherit its random state unless pyrunner reseeds it.
# The output of the global generators (random, numpy's legacy global RNG) must differ
# between runs; nothing else that varies is printed, so identical stdout means shared state.
import random


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


values = [f"random={random.getrandbits(64):016x}"]
try:
    import numpy as np
    values.append(f"numpy={int(np.random.randint(0, 2**62)):016x}")
    values.append(f"numpy-float={np.random.random():.17f}")
except ImportError:
    pass
say("BLOCKED", "leak:random-state", " ".join(values))
