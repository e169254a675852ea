# category: fork-bomb
# expect-status: success
# memory: 512
# A thread bomb: threads count against pids.max too, so fewer than 64 may start.
# Small stacks, so that memory is not what stops us.
import threading


def say(tag, what, detail=""):
    print(f"{tag} {what} {detail}".rstrip(), flush=True)


threading.stack_size(256 * 1024)
release = threading.Event()
threads, reason = [], "cap of 500 reached"
while len(threads) < 500:
    t = threading.Thread(target=release.wait, daemon=True)
    try:
        t.start()
    except RuntimeError as e:
        reason = str(e)
        break
    threads.append(t)
release.set()
for t in threads:
    t.join(1)
if len(threads) >= 64:
    say("ESCAPED", "threads:pids.max", f"{len(threads)} threads started ({reason})")
else:
    say("BLOCKED", "threads:pids.max", f"refused after {len(threads)} threads: {reason}")
