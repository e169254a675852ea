#!/usr/bin/python3
"""A small pyrunner client: a library and a CLI, standard library only.

As a library:

    from client import run, stream, Session
    result = run("print(2 + 2)", base_url="http://127.0.0.1:8000")
    result["status"], result["stdout"]          # ('success', '4\\n')
    with Session("http://127.0.0.1:8000") as s:  # state across runs
        s.run("x = 41")
        s.run("print(x + 1)")["stdout"]          # '42\\n'
    for event in stream("import time\\nfor i in range(3):\\n    print(i); time.sleep(1)"):
        print(event)   # {'type': 'stdout', 'text': '0\\n'} ... then {'type': 'result', ...}

As a CLI, against a running `pyrunner serve`:

    /usr/bin/python3 examples/client.py [--url URL]            # the six classic cases
    /usr/bin/python3 examples/client.py [--url URL] FILE|-     # run one program, print JSON
    /usr/bin/python3 examples/client.py --file data.csv --save out/ analysis.py
        # send data.csv along; save the figures (out/figure-1.png...) and the files it wrote
    /usr/bin/python3 examples/client.py --stream FILE        # its output as it is printed

The six cases check what every deployment should do: plain output, sympy, numpy, an
exception, a timeout (with the output printed before it) and a memory limit. The CLI exits
1 unless all six end with the expected status.
"""

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000"


class PyRunnerError(Exception):
    """The server refused the request (4xx, 5xx) or could not be reached.

    `status` is the HTTP status (None when there was no answer) and `detail` the server's
    explanation (the "detail" field of its JSON error body)."""

    def __init__(self, status, detail, url):
        self.status, self.detail, self.url = status, detail, url
        where = "HTTP %d" % status if status is not None else "no answer"
        super().__init__("pyrunner at %s: %s: %s" % (url, where, detail))


def _request(method, base_url, path, body=None, timeout=30.0):
    """One HTTP exchange; returns (status, headers, body bytes). Never raises on a status."""
    url = base_url.rstrip("/") + path
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:  # a 4xx or 5xx answer: still an answer
        with e:
            return e.code, e.headers, e.read()
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise PyRunnerError(None, "cannot reach the server: %s" % reason, url) from None


def _detail(payload):
    try:
        doc = json.loads(payload)
        if isinstance(doc, dict) and "detail" in doc:
            return str(doc["detail"])
    except ValueError:
        pass
    return payload.decode("utf-8", "replace")[:500] or "(empty body)"


def _retry_after(headers, default=1.0):
    """Seconds to wait, from a Retry-After header in seconds (the form pyrunner sends)."""
    try:
        return max(0.0, float(headers.get("Retry-After", default)))
    except (TypeError, ValueError):
        return default


def run(code, timeout=None, memory_limit=None, stdin=None, files=None, base_url=DEFAULT_URL,
        max_retries=5, max_wait=30.0, on_event=None):
    """Runs `code` on the server and returns its result dict.

    The dict has: status ("success", "error", "timeout" or "memory_exceeded"), stdout,
    stderr, execution_time (s), memory_used (MB), error (a one-line message or None),
    exit_code and truncated; results (what the code displayed: figures, tables, the value of
    its last expression, as MIME bundles), files (the files it wrote, base64) and exception.

    files: {path in the working directory: bytes or str} written there before the code runs.
    timeout (s), memory_limit (MB), stdin (str) and files are sent only when given; the server
    applies its defaults otherwise (GET / lists them). When the server is busy (429, or 503
    with Retry-After) the call waits as told and tries again, at most `max_retries` times and
    `max_wait` seconds per wait. Any other refusal raises PyRunnerError with the server's
    detail, e.g. a 422 for a memory_limit out of range.

    on_event: called with each event of the run as it happens (see stream(); the run is then
    streamed), before the result is returned.
    """
    if on_event is not None:
        return _result_of(stream(code, timeout=timeout, memory_limit=memory_limit, stdin=stdin,
                                 files=files, base_url=base_url, max_retries=max_retries,
                                 max_wait=max_wait), on_event)
    body = _run_body(code, timeout=timeout, memory_limit=memory_limit, stdin=stdin, files=files)
    return _post_retrying(base_url, "/run", body, _http_timeout(timeout), max_retries, max_wait,
                          200)


def stream(code, timeout=None, memory_limit=None, stdin=None, files=None, base_url=DEFAULT_URL,
           max_retries=5, max_wait=30.0):
    """Runs `code` on the server and yields its events as they happen (POST /run with
    Accept: application/x-ndjson, read line by line):

        {"type": "stdout", "text": "..."}, {"type": "stderr", "text": "..."}
        {"type": "display" or "execute_result", "data": {mime: ...}, "metadata": {...}}
        {"type": "result", "result": {...}}    last: the dict run() returns

    The texts of the stdout events put together are the result's stdout (likewise stderr),
    and the display events are its results. Arguments, retries and refusals as for run(); a
    run that started but could not finish (the server stopping) raises PyRunnerError.
    """
    body = _run_body(code, timeout=timeout, memory_limit=memory_limit, stdin=stdin, files=files)
    return _stream_retrying(base_url, "/run", body, _http_timeout(timeout), max_retries, max_wait)


def _run_body(code, files=None, **fields):
    """A request body: `code` and the other fields that are given (not None), `files` encoded."""
    body = {} if code is None else {"code": code}
    body.update((k, v) for k, v in fields.items() if v is not None)
    if files:
        body["files"] = _files_field(files)
    return body


def _http_timeout(timeout):
    """The run may take up to its timeout (the server's maximum when unknown), plus a wait."""
    return (timeout if timeout is not None else 300) + 30


def _files_field(files):
    """{path: bytes or str} -> the request's "files" list."""
    return [{"path": path, "content": base64.b64encode(data).decode(), "encoding": "base64"}
            if isinstance(data, bytes) else {"path": path, "content": data}
            for path, data in files.items()]


def _post_retrying(base_url, path, body, http_timeout, max_retries, max_wait, ok):
    """POST `body`; the parsed answer when its status is `ok`. Waits out 429s and 503s with
    Retry-After (at most `max_retries` times); raises PyRunnerError for any other status."""
    url = base_url.rstrip("/") + path
    for attempt in range(max_retries + 1):
        status, headers, payload = _request("POST", base_url, path, body, http_timeout)
        if status == ok:
            return json.loads(payload)
        busy = status == 429 or (status == 503 and headers.get("Retry-After") is not None)
        if busy and attempt < max_retries:
            time.sleep(min(_retry_after(headers), max_wait))
            continue
        if busy:
            raise PyRunnerError(status, "still busy after %d retries: %s" %
                                (max_retries, _detail(payload)), url)
        raise PyRunnerError(status, _detail(payload), url)
    raise AssertionError("unreachable")


def _stream_retrying(base_url, path, body, http_timeout, max_retries, max_wait):
    """POST `body` asking for NDJSON; yields the events. Refusals (which are plain JSON answers,
    never streams) are retried or raised as _post_retrying does."""
    url = base_url.rstrip("/") + path
    data = json.dumps(body).encode()
    for attempt in range(max_retries + 1):
        req = urllib.request.Request(url, data=data, method="POST")
        req.add_header("Content-Type", "application/json")
        req.add_header("Accept", "application/x-ndjson")
        try:
            resp = urllib.request.urlopen(req, timeout=http_timeout)
        except urllib.error.HTTPError as e:
            with e:
                status, headers, payload = e.code, e.headers, e.read()
            busy = status == 429 or (status == 503 and headers.get("Retry-After") is not None)
            if busy and attempt < max_retries:
                time.sleep(min(_retry_after(headers), max_wait))
                continue
            raise PyRunnerError(status, _detail(payload), url) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise PyRunnerError(None, "cannot reach the server: %s" % reason, url) from None
        with resp:
            for line in resp:  # each event as soon as its line is in
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("type") == "error":
                    raise PyRunnerError(event.get("status"), event.get("detail"), url)
                yield event
                if event.get("type") == "result":
                    return
        raise PyRunnerError(None, "the stream ended without a result", url)


def _result_of(events, on_event):
    """Hands each event to `on_event`; the result."""
    for event in events:
        on_event(event)
        if event["type"] == "result":
            return event["result"]
    raise AssertionError("unreachable: the stream ends with its result or raises")


class Session:
    """A session: one interpreter kept on the server between runs (POST /sessions), so that
    variables, imports and files carry over, as in a notebook.

        with Session(base_url) as s:
            s.run("import numpy as np\nx = np.arange(10)")
            s.run("print(x.sum())")["stdout"]            # '45\n'
            s.run("open('out.txt', 'w').write('hi')")
            s.files()                                    # [{'path': 'out.txt', 'size': 2, ...}]
            s.read("out.txt")                            # b'hi'

    A run's timeout interrupts the code (KeyboardInterrupt) and keeps the state, and so does
    interrupt(), called from another thread while a run is going. The session
    ends with close() (or the with block), after idle_timeout seconds without a run, or when
    its code kills it (the result then has "session_ended"); calls after that raise
    PyRunnerError with status 410 and the reason.
    """

    def __init__(self, base_url=DEFAULT_URL, memory_limit=None, idle_timeout=None, files=None,
                 max_retries=5, max_wait=30.0):
        self.base_url, self.max_retries, self.max_wait = base_url, max_retries, max_wait
        body = _run_body(None, memory_limit=memory_limit, idle_timeout=idle_timeout, files=files)
        self.info = _post_retrying(base_url, "/sessions", body, 60, max_retries, max_wait, 201)
        self.id = self.info["id"]
        self.path = "/sessions/" + self.id

    def run(self, code, timeout=None, stdin=None, files=None, on_event=None):
        """Runs `code` in the session; the result dict of run(), plus execution_count.
        on_event: called with each event of the run as it happens (see stream(); the run is
        then streamed), before the result is returned."""
        if on_event is not None:
            return _result_of(self.stream(code, timeout=timeout, stdin=stdin, files=files),
                              on_event)
        body = _run_body(code, timeout=timeout, stdin=stdin, files=files)
        return _post_retrying(self.base_url, self.path + "/run", body, _http_timeout(timeout),
                              self.max_retries, self.max_wait, 200)

    def stream(self, code, timeout=None, stdin=None, files=None):
        """Runs `code` in the session and yields its events as they happen, as stream() does;
        the last one's result has execution_count."""
        body = _run_body(code, timeout=timeout, stdin=stdin, files=files)
        return _stream_retrying(self.base_url, self.path + "/run", body, _http_timeout(timeout),
                                self.max_retries, self.max_wait)

    def interrupt(self):
        """Interrupts the run in progress (KeyboardInterrupt; the state is kept), as Jupyter's
        interrupt does: its run() then returns with error "Interrupted by the client". True if
        a run was in progress, False if the session was idle."""
        status, _, payload = _request("POST", self.base_url, self.path + "/interrupt")
        if status != 200:
            raise PyRunnerError(status, _detail(payload), self.base_url + self.path)
        return json.loads(payload)["interrupted"]

    def files(self):
        """The working directory's regular files: [{"path", "size", "mime"}], by path."""
        return json.loads(self._get(self.path + "/files"))["files"]

    def read(self, path):
        """The bytes of one file of the working directory (relative `path`)."""
        quoted = "/".join(urllib.parse.quote(part) for part in path.split("/"))
        return self._get(self.path + "/files/" + quoted)

    def close(self):
        """Ends the session (its processes and memory are freed). Ending twice is fine."""
        status, _, payload = _request("DELETE", self.base_url, self.path)
        if status not in (204, 404, 410):
            raise PyRunnerError(status, _detail(payload), self.base_url + self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _get(self, path):
        status, _, payload = _request("GET", self.base_url, path)
        if status != 200:
            raise PyRunnerError(status, _detail(payload), self.base_url + path)
        return payload


def health(base_url=DEFAULT_URL):
    """GET /: service status, versions, limits, pool and run counters (a dict)."""
    status, _, payload = _request("GET", base_url, "/")
    if status not in (200, 503):  # 503: up, but the sandbox is unavailable
        raise PyRunnerError(status, _detail(payload), base_url)
    return json.loads(payload)


def openapi(base_url=DEFAULT_URL):
    """GET /openapi.json: the API description (a dict)."""
    status, _, payload = _request("GET", base_url, "/openapi.json")
    if status != 200:
        raise PyRunnerError(status, _detail(payload), base_url)
    return json.loads(payload)


def metrics(base_url=DEFAULT_URL):
    """GET /metrics: Prometheus text."""
    status, _, payload = _request("GET", base_url, "/metrics")
    if status != 200:
        raise PyRunnerError(status, _detail(payload), base_url)
    return payload.decode("utf-8", "replace")


# ------------------------------------------------------------------------------------------
# CLI

CASES = [
    # (name, expected status, code, keyword arguments)
    ("print", "success", "print(2 + 2)", {}),
    ("sympy", "success",
     "from sympy import symbols, expand, factor\n"
     "x, y = symbols('x y')\n"
     "print(expand((x + y)**3))\n"
     "print(factor(x**3 - y**3))\n", {}),
    ("numpy", "success",
     "import numpy as np\n"
     "a = np.arange(1, 11)\n"
     "print('mean', a.mean(), 'std', round(a.std(), 4))\n"
     "print('cumsum', a.cumsum())\n", {}),
    ("exception", "error", "1/0", {}),
    ("timeout", "timeout",
     'import time; print("partial", flush=True); time.sleep(35)', {"timeout": 2}),
    ("memory", "memory_exceeded",
     "import numpy as np; a = np.zeros((1000, 1000, 100))", {"memory_limit": 256}),
]


def _show(text, limit=500):
    text = text if len(text) <= limit else text[:limit] + "... (%d chars)" % len(text)
    return text.rstrip("\n").replace("\n", "\n" + " " * 14)


def print_result(result, out=sys.stdout):
    print("    status:   %s (exit code %s)" % (result.get("status"), result.get("exit_code")),
          file=out)
    if result.get("stdout"):
        print("    stdout:   " + _show(result["stdout"]), file=out)
    if result.get("stderr"):
        print("    stderr:   " + _show(result["stderr"]), file=out)
    if result.get("error"):
        print("    error:    " + result["error"], file=out)
    print("    time:     %.4f s, memory %.1f MB%s" %
          (result.get("execution_time") or 0, result.get("memory_used") or 0,
           ", output truncated" if result.get("truncated") else ""), file=out)


# Where each figure format is saved, by MIME type.
FIGURE_EXTENSIONS = {"image/png": "png", "image/svg+xml": "svg", "image/jpeg": "jpeg",
                     "application/pdf": "pdf"}


def save_outputs(result, directory):
    """Writes the result's figures (figure-1.png, ...) and the files the run wrote (by their
    relative path) under `directory`; returns the paths written. A path that would leave the
    directory is skipped (the server never sends one, but a client should not trust that)."""
    os.makedirs(directory, exist_ok=True)
    root = os.path.realpath(directory)
    written = []

    def write(relative, data):
        target = os.path.realpath(os.path.join(root, relative))
        if not target.startswith(root + os.sep):
            return
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(data)
        written.append(target)

    figure = 0
    for item in result.get("results", []):
        images = [(mime, ext) for mime, ext in FIGURE_EXTENSIONS.items() if mime in item["data"]]
        if not images:
            continue
        figure += 1
        for mime, ext in images:
            value = item["data"][mime]
            data = value.encode() if mime == "image/svg+xml" else base64.b64decode(value)
            write("figure-%d.%s" % (figure, ext), data)
    for f in result.get("files", []):
        if f.get("content") is not None:
            write(f["path"], base64.b64decode(f["content"]))
    return written


def show_event(event, prefix=""):
    """Prints one event of a streamed run as it comes: output as it was printed (stdout to
    stdout, stderr to stderr), a line for each thing displayed."""
    kind = event["type"]
    if kind in ("stdout", "stderr"):
        out = sys.stdout if kind == "stdout" else sys.stderr
        text = event["text"]
        if prefix:
            text = "".join(prefix + line for line in text.splitlines(True))
        out.write(text)
        out.flush()
    elif kind in ("display", "execute_result"):
        print("%s[%s: %s]" % (prefix, kind, ", ".join(sorted(event["data"]))), file=sys.stderr,
              flush=True)


def run_cases(base_url, streamed=False):
    good = 0
    for i, (name, expected, code, kwargs) in enumerate(CASES, 1):
        args = ", ".join("%s=%r" % kv for kv in kwargs.items())
        print("(%d) %s%s: expect %s" % (i, name, " [" + args + "]" if args else "", expected))
        print("    code:     " + _show(code.strip()))
        t0 = time.monotonic()
        try:
            if streamed:
                kwargs = dict(kwargs, on_event=lambda e: show_event(e, "    | "))
            result = run(code, base_url=base_url, **kwargs)
        except PyRunnerError as e:
            print("    FAILED:   %s" % e)
            continue
        print_result(result)
        ok = result.get("status") == expected
        good += ok
        print("    -> %s (%.2f s round trip)" %
              ("as expected" if ok else "UNEXPECTED: got %s" % result.get("status"),
               time.monotonic() - t0))
    print("%d/%d cases as expected" % (good, len(CASES)))
    return good == len(CASES)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="pyrunner client: without FILE, run the six classic cases")
    ap.add_argument("--url", default=DEFAULT_URL, help="server (default %s)" % DEFAULT_URL)
    ap.add_argument("file", nargs="?", help="a program to run instead ('-' reads stdin)")
    ap.add_argument("--timeout", type=int, help="seconds (with FILE)")
    ap.add_argument("--memory-limit", type=int, help="MB (with FILE)")
    ap.add_argument("--stdin", metavar="PATH", help="file given to the program as stdin")
    ap.add_argument("--file", action="append", default=[], metavar="PATH", dest="send",
                    help="a file sent along into the working directory (repeatable)")
    ap.add_argument("--save", metavar="DIR",
                    help="write the figures and the files the run wrote under DIR")
    ap.add_argument("--stream", action="store_true",
                    help="show the output as it is printed (with FILE: its stdout and stderr "
                         "as the program's own, then a summary on stderr instead of the JSON)")
    args = ap.parse_args(argv)
    try:
        if args.file is None:
            return 0 if run_cases(args.url, args.stream) else 1
        code = sys.stdin.read() if args.file == "-" else open(args.file).read()
        stdin = open(args.stdin).read() if args.stdin else None
        files = {}
        for path in args.send:
            with open(path, "rb") as f:
                files[os.path.basename(path)] = f.read()
        result = run(code, timeout=args.timeout, memory_limit=args.memory_limit, stdin=stdin,
                     files=files, base_url=args.url,
                     on_event=show_event if args.stream else None)
        if args.save:
            for path in save_outputs(result, args.save):
                print("saved %s" % path, file=sys.stderr)
        if args.stream:
            print_result(result, out=sys.stderr)
        else:
            print(json.dumps(result, indent=2))
        return 0 if result.get("status") == "success" else 1
    except PyRunnerError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
