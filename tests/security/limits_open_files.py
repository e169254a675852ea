# category: limits
# expect-status: success
# Open files until EMFILE: RLIMIT_NOFILE (256) must stop us, and raising the soft limit
# past the hard one must fail.
import errno
import os
import resource


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


fds, reason = [], "cap of 5000 reached"
while len(fds) < 5000:
    try:
        fds.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as e:
        reason = errno.errorcode.get(e.errno, str(e.errno))
        break
count = len(fds)
for fd in fds:
    os.close(fd)
if count > 256:
    say("ESCAPED", "nofile:open", f"{count} files opened ({reason})")
else:
    say("BLOCKED", "nofile:open", f"{reason} after {count} files")

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    say("ESCAPED", "nofile:raise", f"raised from {soft}/{hard} to 4096")
except (ValueError, OSError) as e:
    say("BLOCKED", "nofile:raise", str(e))
