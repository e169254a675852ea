# The smallest pyrunner program: `build/pyrunner run examples/hello.py`
import numpy as np

print("hello from the sandbox")
print("numpy says", np.arange(5).sum())
