# category: disk-fill
# expect-status: success
# Fill /tmp (a private 64 MB tmpfs) with 4 MB files until the file system is full. The write
# must fail cleanly with ENOSPC (or EFBIG) near 64 MB; more than 96 MB accepted means /tmp is
# not size-limited (we stop there). Everything is removed again.
import errno
import os


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


chunk = b"\x01" * (4 << 20)
written, paths, reason = 0, [], None
while written < (96 << 20):
    path = f"/tmp/prsec_fill_{len(paths)}"
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
    say("ESCAPED", "fill:/tmp", f"{written >> 20} MB written without error: /tmp not size-limited")
else:
    say("BLOCKED", "fill:/tmp", f"{reason} after {written >> 20} MB")

# /tmp is usable again afterwards.
try:
    with open("/tmp/prsec_after", "w") as f:
        f.write("ok")
    os.unlink("/tmp/prsec_after")
    say("INFO", "fill:/tmp", "writable again after cleanup")
except OSError as e:
    say("INFO", "fill:/tmp", "still full: " + errno.errorcode.get(e.errno, str(e.errno)))
