"""The runner's side of the control channel (fd 3), one line per message:

    M <json>   something the code displayed: {"type", "data", "metadata"}
    F <json>   a file the run created or changed: {"path", "size", "mime", "content"?, ...}
    D <json>   the program finished: {"exit_code", "error", "memory_error", "time", ...}
    S {}       a session's code starts now (sent only in sessions: until it, the parent holds
               back a client's interrupt, which would land in the runner instead of the code)

The parent treats every line as untrusted (the program can write to fd 3 too): it bounds what
it keeps and replaces invalid UTF-8. So text is sent as UTF-8 as it is, lone surrogates
included ("surrogatepass"), and the parent replaces what is not valid.
"""
import os

CONTROL_FD = 3


def json_string(text):
    """A JSON string literal without importing json (a cold run pays for every import)."""
    if text is None:
        return "null"
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch < " ":
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def encode(value):
    """JSON text for what the runner sends; only rich results and files need the json module."""
    import json
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                      default=str)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def send(tag, json_text, fd=CONTROL_FD):
    """One message; False if the channel is gone (the program closed fd 3, or the parent left)."""
    try:
        write_all(fd, (tag + " " + json_text + "\n").encode("utf-8", "surrogatepass"))
        return True
    except OSError:
        return False
