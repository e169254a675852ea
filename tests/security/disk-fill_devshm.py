# category: disk-fill
# expect-status: success
# memory: 512
# /dev/shm (POSIX shared memory) is a second writable tmpfs; like /tmp it must be
# size-limited (pyrunner mounts it with 64 MB). Fill it with 8 MB files until ENOSPC; more
# than 160 MB accepted means no size limit (we stop there, well inside the 512 MB memory
# limit so the verdict is ours, not the OOM killer's). Everything is removed again.
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


if not os.path.isdir("/dev/shm"):
    say("BLOCKED", "fill:/dev/shm", "no /dev/shm")
else:
    chunk = b"\x01" * (8 << 20)
    written, paths, reason = 0, [], None
    while written < (160 << 20):
        path = f"/dev/shm/prsec_fill_{len(paths)}"
        paths.append(path)
        try:
            with open(path, "wb") as f:
                f.write(chunk)
            written += len(chunk)
        except OSError as e:
            reason = errno.errorcode.get(e.errno, str(e.errno))
            break
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass
    if reason is None:
        say("ESCAPED", "fill:/dev/shm", f"{written >> 20} MB written without error: not size-limited")
    else:
        say("BLOCKED", "fill:/dev/shm", f"{reason} after {written >> 20} MB")
