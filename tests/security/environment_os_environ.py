# category: environment
# expect-status: success
# The run's environment is rebuilt from scratch: only the variables pyrunner sets itself
# may be there, and nothing of pyrunner's own environment (the harness puts
# PYRUNNER_TEST_SECRET=hunter2-canary there) may leak in.
import ctypes
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


ALLOWED = {"PATH", "HOME", "LANG", "LC_ALL", "MPLBACKEND", "MPLCONFIGDIR",
           "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "OPENBLAS_NUM_THREADS",
           "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "TMPDIR",
           "PYTHONIOENCODING", "PYTHONUTF8", "USER", "LOGNAME"}
# The ones whose value is pyrunner's own, whatever the host's is.
FIXED = {"HOME": "/home/user", "USER": "user", "LOGNAME": "user", "TMPDIR": "/tmp"}
CANARY = "hunter2-" + "canary"

bad = 0
for key, value in sorted(os.environ.items()):
    if key not in ALLOWED:
        bad += 1
        say("ESCAPED", f"env:{key}", "unexpected variable, value " + repr(value[:60]))
    elif key in FIXED and value != FIXED[key]:
        bad += 1
        say("ESCAPED", f"env:{key}", "not the sandbox's own value: " + repr(value[:60]))
    elif CANARY in value:
        bad += 1
        say("ESCAPED", f"env:{key}", "holds the test secret")
if CANARY in repr(os.environ) or any(CANARY.encode() in v for v in os.environb.values()):
    say("ESCAPED", "env:secret", "secret found in os.environ")
elif not bad:
    say("BLOCKED", "env:os.environ", "only " + ",".join(sorted(os.environ)))

# The same through the libc view (getenv reads the C environ, not Python's copy).
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p
for key in ("PYRUNNER_TEST_SECRET", "PYRUNNER_CONFIG", "USER", "LOGNAME", "SSH_AUTH_SOCK",
            "PWD", "OLDPWD", "SHELL", "SUDO_USER", "CI", "LD_PRELOAD", "PYTHONPATH"):
    value = libc.getenv(key.encode())
    if value is not None and value.decode() != FIXED.get(key):
        say("ESCAPED", f"getenv:{key}", repr(value[:60]))
    else:
        say("BLOCKED", f"getenv:{key}", "unset")
say("INFO", "home", os.environ.get("HOME", "?"))
say("INFO", "path", os.environ.get("PATH", "?"))
