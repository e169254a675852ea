#!/usr/bin/python3
"""Two pyrunner replicas behind Debian's nginx with the shipped deploy/nginx/pyrunner.conf.

Starts two real `pyrunner serve` on 127.0.0.1 with different `sessions.replica` names and
nginx (a foreground master with its own prefix, pid, logs and temp files in a temporary
directory, listening on 127.0.0.1 only) configured with deploy/nginx/pyrunner.conf unchanged
plus a pyrunner/upstreams.conf in the form of deploy/nginx/upstreams-static.conf. Then,
through nginx:

- new sessions alternate between the replicas (round-robin), and their ids name them;
- every call of a session reaches its replica: state carries over across many interleaved
  calls, the session's files and status come back, the replica that holds it answers for it
  directly and the other one does not know it, and nginx's access log shows each request
  going to the replica its id names;
- one-off POST /run alternate too (counted with each server's pyrunner_runs_total);
- with one replica stopped, its sessions get nginx's 502 naming it (the access log shows no
  other replica was asked), the other replica's sessions, runs and new sessions go on; a
  replica nginx does not know is 404; restarted, the replica answers 404 for its old sessions.

Every wait is on an event (a log line, GET / answering 200, a process exiting), bounded by a
deadline. Only the processes this test starts are signalled, by pid; everything is stopped
and the temporary directory removed, also on failure (kept with --keep). `make test-nginx`
(part of `make test`) runs it inside a throwaway PID namespace. /usr/bin/python3, stdlib only.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED_CONF = os.path.join(ROOT, "deploy", "nginx", "pyrunner.conf")
NGINX = "/usr/sbin/nginx"
REPLICAS = ("replica-a", "replica-b")
ID_RE = re.compile(r"^(?P<replica>[a-z0-9-]+)-[0-9a-f]{32}$")
SESSIONS = 8          # sessions made through nginx
CALLS = 15            # runs in each, after the first
ONE_OFF = 10          # POST /run through nginx
START_LIMIT = 120     # seconds a server may take to warm up (2 shared cores, preload)
STOP_LIMIT = 20       # seconds a process may take to exit after SIGTERM


class Failure(Exception):
    pass


def check(name, ok, detail=""):
    if not ok:
        raise Failure(name + (": " + str(detail) if detail != "" else ""))
    print("ok   " + name, flush=True)


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def __repr__(self):
        return "%d %s" % (self.status, self.body[:300].decode("utf-8", "replace"))


def call(port, method, path, body=None, timeout=60):
    """One HTTP request on a new connection; status 0 when nothing answered."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        res = conn.getresponse()
        return Answer(res.status, {k.lower(): v for k, v in res.getheaders()}, res.read())
    except OSError as e:
        return Answer(0, {}, str(e).encode())
    finally:
        conn.close()


def wait_for(what, done, limit, alive=None):
    """Polls `done` until it is true; fails at the deadline or when `alive` says the process died."""
    deadline = time.monotonic() + limit
    while True:
        value = done()
        if value:
            return value
        if alive is not None and not alive():
            raise Failure(what + ": the process exited first")
        if time.monotonic() > deadline:
            raise Failure(what + ": not within %d s" % limit)
        time.sleep(0.05)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A process this test started, its output in a file; stopped by its own pid only."""

    def __init__(self, name, argv, log_path):
        self.name, self.argv, self.log_path = name, argv, log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, close_fds=True)

    def alive(self):
        return self.proc.poll() is None

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def tail(self, lines=15):
        return "\n".join(self.output().splitlines()[-lines:])

    def stop(self, sig=signal.SIGTERM):
        """Signals the process and waits; SIGKILL (and nginx's workers with it) if it hangs."""
        if self.alive():
            children = self.children()
            self.proc.send_signal(sig)
            try:
                self.proc.wait(STOP_LIMIT)
            except subprocess.TimeoutExpired:
                for pid in children:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def children(self):
        try:
            with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []


class Replica:
    def __init__(self, binary, tmp, name):
        self.binary, self.tmp, self.name = binary, tmp, name
        self.config = os.path.join(tmp, name + ".yaml")
        with open(self.config, "w") as f:
            # The default config but for this server's name in session ids, and lighter: this
            # is about routing, not the stack, so nothing is preloaded (three start-ups stay
            # short on a busy machine) and the pool is small.
            f.write("sessions:\n  replica: %s\npool:\n  size: 2\npython:\n  preload: []\n" % name)
        self.port = 0
        self.process = None

    def start(self, port=0):
        self.process = Process(self.name, [self.binary, "serve", "--host", "127.0.0.1", "--port",
                                           str(port), "--config", self.config],
                               os.path.join(self.tmp, self.name + ".log"))

    def wait_listening(self):
        def port():
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.process.output())
            return int(m.group(1)) if m else 0
        try:
            self.port = wait_for(self.name + " listening", port, START_LIMIT, self.process.alive)
        except Failure as e:
            raise Failure("%s\n%s" % (e, self.process.tail()))

    def wait_ready(self):
        try:
            wait_for(self.name + " GET / 200", lambda: call(self.port, "GET", "/", timeout=5).status == 200,
                     START_LIMIT, self.process.alive)
        except Failure as e:
            raise Failure("%s\n%s" % (e, self.process.tail()))

    def runs_total(self):
        text = call(self.port, "GET", "/metrics").body.decode()
        return sum(int(float(v)) for v in re.findall(r"^pyrunner_runs_total\{[^}]*\} (\S+)$", text, re.M))


class Nginx:
    def __init__(self, tmp, replicas):
        self.tmp, self.port = tmp, free_port()
        self.conf = os.path.join(tmp, "nginx.conf")
        self.access_log = os.path.join(tmp, "access.log")
        os.makedirs(os.path.join(tmp, "pyrunner"), exist_ok=True)
        # The main file: what Debian's /etc/nginx/nginx.conf would be, with every path in the
        # temporary directory. One worker, so that round-robin is strictly in turn.
        with open(self.conf, "w") as f:
            f.write("""worker_processes 1;
daemon off;
pid {t}/nginx.pid;
error_log {t}/error.log info;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {t}/client_body;
    proxy_temp_path {t}/proxy;
    fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi;
    scgi_temp_path {t}/scgi;
    include {shipped};
}}
""".format(t=tmp, shipped=SHIPPED_CONF))
        # pyrunner.conf includes these two relative to the directory of nginx.conf, as it
        # includes /etc/nginx/pyrunner/*.conf in a Debian install.
        with open(os.path.join(tmp, "pyrunner", "server.conf"), "w") as f:
            f.write("listen 127.0.0.1:%d;\naccess_log %s pyrunner;\n" % (self.port, self.access_log))
        with open(os.path.join(tmp, "pyrunner", "upstreams.conf"), "w") as f:
            f.write("upstream pyrunner_all {\n")
            for r in replicas:
                f.write("    server 127.0.0.1:%d;\n" % r.port)
            f.write("}\n")
            for r in replicas:
                f.write("upstream pyrunner_replica_%s {\n    server 127.0.0.1:%d;\n}\n"
                        % (r.name.replace("-", "_"), r.port))
            f.write('map $pyrunner_replica $pyrunner_backend {\n    ""  pyrunner_all;\n')
            for r in replicas:
                f.write("    %s  pyrunner_replica_%s;\n" % (r.name, r.name.replace("-", "_")))
            f.write('    default  "";\n}\n')
        self.process = None

    def argv(self, *extra):
        return [NGINX, "-p", self.tmp, "-c", self.conf, "-e", os.path.join(self.tmp, "error.log")] + list(extra)

    def test_config(self):
        out = subprocess.run(self.argv("-t"), capture_output=True, text=True)
        check("nginx -t accepts deploy/nginx/pyrunner.conf with a static upstreams.conf",
              out.returncode == 0, out.stderr.strip())

    def start(self):
        self.process = Process("nginx", self.argv(), os.path.join(self.tmp, "nginx.out"))
        try:
            wait_for("nginx answers GET / with 200 from a replica",
                     lambda: call(self.port, "GET", "/", timeout=5).status == 200, 30, self.process.alive)
        except Failure as e:
            raise Failure("%s\n%s\n%s" % (e, self.process.tail(), tail_file(os.path.join(self.tmp, "error.log"))))

    def log_lines(self):
        """(method, path, status, upstream address) of each request, from the access log."""
        out = []
        with open(self.access_log) as f:
            for line in f:
                m = re.search(r'"(\w+) (\S+) HTTP/[\d.]+" (\d+) .* upstream="([^"]*)"', line)
                if m:
                    out.append((m.group(1), m.group(2), int(m.group(3)), m.group(4)))
        return out


def tail_file(path, lines=15):
    try:
        with open(path, errors="replace") as f:
            return "\n".join(f.read().splitlines()[-lines:])
    except OSError:
        return ""


def replica_of(session_id):
    m = ID_RE.match(session_id or "")
    return m.group("replica") if m else None


def scenario(binary, tmp):
    a, b = (Replica(binary, tmp, n) for n in REPLICAS)
    by_name = {a.name: a, b.name: b}
    started = [a, b]
    try:
        t0 = time.monotonic()
        for r in (a, b):
            r.start()
        for r in (a, b):
            r.wait_listening()
        for r in (a, b):
            r.wait_ready()
            info = call(r.port, "GET", "/").json() or {}
            check("%s: GET / says sessions.replica %s" % (r.name, r.name),
                  (info.get("sessions") or {}).get("replica") == r.name, info.get("sessions"))
        print("     two replicas ready in %.1f s" % (time.monotonic() - t0), flush=True)

        ngx = Nginx(tmp, (a, b))
        ngx.test_config()
        ngx.start()
        started.append(ngx)
        gw = ngx.port

        # --- new sessions: round-robin, ids name their replica
        ids = []
        for _ in range(SESSIONS):
            made = call(gw, "POST", "/sessions", {})
            check("POST /sessions through nginx: 201 with an id", made.status == 201 and
                  replica_of((made.json() or {}).get("id")) in by_name, made)
            ids.append(made.json()["id"])
        order = [replica_of(i) for i in ids]
        check("new sessions alternate between the replicas (round-robin): %s" % " ".join(order),
              all(order[i] != order[i + 1] for i in range(len(order) - 1)), order)

        # --- many calls in each session, interleaved: state kept, so every call reached its
        # replica. Grouped by replica (a, a, a, a, b, b, b, b), not in the order of creation
        # (a, b, a, b, ...), which plain round-robin would happen to serve right.
        ids.sort(key=replica_of)
        for sid in ids:
            r = call(gw, "POST", "/sessions/%s/run" % sid,
                     {"code": "n = 0\nopen('who.txt', 'w').write(%r)" % sid})
            check("session %s: first run" % sid[:14], r.status == 200 and
                  (r.json() or {}).get("status") == "success", r)
        for i in range(1, CALLS + 1):
            for sid in ids:
                r = call(gw, "POST", "/sessions/%s/run" % sid, {"code": "n += 1\nprint(n)"})
                j = r.json() or {}
                if not (r.status == 200 and j.get("stdout") == "%d\n" % i and j.get("execution_count") == i + 1):
                    raise Failure("session %s, call %d: expected n == %d (its own state), got %r"
                                  % (sid, i + 1, i, r))
        check("%d sessions x %d calls through nginx: each saw its own state every time" % (SESSIONS, CALLS + 1), True)
        for sid in ids:
            f = call(gw, "GET", "/sessions/%s/files/who.txt" % sid)
            check("GET /sessions/%s.../files/who.txt through nginx: the file it wrote" % sid[:14],
                  f.status == 200 and f.body == sid.encode(), f)
            s = call(gw, "GET", "/sessions/%s" % sid).json() or {}
            check("GET /sessions/%s... through nginx: execution_count %d" % (sid[:14], CALLS + 1),
                  s.get("execution_count") == CALLS + 1, s)
            holder = by_name[replica_of(sid)]
            other = b if holder is a else a
            check("session %s... is held by %s (200 there, 404 on %s, asked directly)"
                  % (sid[:14], holder.name, other.name),
                  call(holder.port, "GET", "/sessions/" + sid).status == 200
                  and call(other.port, "GET", "/sessions/" + sid).status == 404)
        wrong = [(m, p, up) for m, p, st, up in ngx.log_lines()
                 if replica_of(p.split("/")[2] if p.startswith("/sessions/") else "")
                 and up != "127.0.0.1:%d" % by_name[replica_of(p.split("/")[2])].port]
        check("access log: every /sessions/<id>/... request went to the replica its id names",
              not wrong, wrong[:5])
        listing = call(gw, "GET", "/sessions").json() or {}
        names = {replica_of(s.get("id")) for s in listing.get("sessions", [])}
        check("GET /sessions through nginx: the sessions of the one replica that answered",
              len(names) == 1 and len(listing["sessions"]) == SESSIONS // 2, listing)

        # --- one-off runs: round-robin, counted by each server
        before = {r.name: r.runs_total() for r in (a, b)}
        for _ in range(ONE_OFF):
            r = call(gw, "POST", "/run", {"code": "print(6 * 7)"})
            check("POST /run through nginx: 42", r.status == 200 and (r.json() or {}).get("stdout") == "42\n", r)
        delta = {r.name: r.runs_total() - before[r.name] for r in (a, b)}
        check("%d one-off runs spread over both replicas, in turn (pyrunner_runs_total: %s)"
              % (ONE_OFF, delta), sum(delta.values()) == ONE_OFF
              and all(abs(d - ONE_OFF / 2) <= 0.5 for d in delta.values()), delta)

        # --- a deleted session
        gone = [i for i in ids if replica_of(i) == a.name][0]
        check("DELETE /sessions/<id> through nginx: 204", call(gw, "DELETE", "/sessions/" + gone).status == 204)
        after = call(gw, "POST", "/sessions/%s/run" % gone, {"code": "n"})
        check("a deleted session answers 404/410 from its replica", after.status in (404, 410), after)
        ids.remove(gone)

        # --- replica-b stops: its sessions get 502 from nginx, never the other replica
        t1 = time.monotonic()
        check("%s stops on SIGTERM with exit code 0" % b.name, b.process.stop() == 0, b.process.tail())
        lines_before = len(ngx.log_lines())
        for sid in [i for i in ids if replica_of(i) == b.name]:
            r = call(gw, "POST", "/sessions/%s/run" % sid, {"code": "n"})
            detail = (r.json() or {}).get("detail", "")
            check("session %s... of the stopped %s: 502 naming it" % (sid[:14], b.name),
                  r.status == 502 and b.name in detail and r.headers.get("content-type") == "application/json", r)
        asked = {up for _, p, _, up in ngx.log_lines()[lines_before:]}
        check("access log: those calls were tried on %s only" % b.name,
              asked == {"127.0.0.1:%d" % b.port}, asked)
        for sid in [i for i in ids if replica_of(i) == a.name]:
            r = call(gw, "POST", "/sessions/%s/run" % sid, {"code": "n += 1\nprint(n)"})
            check("session %s... of %s goes on: n == %d" % (sid[:14], a.name, CALLS + 1),
                  r.status == 200 and (r.json() or {}).get("stdout") == "%d\n" % (CALLS + 1), r)
        for _ in range(4):
            r = call(gw, "POST", "/run", {"code": "print(1)"})
            check("POST /run through nginx with %s down: answered by %s" % (b.name, a.name),
                  r.status == 200 and (r.json() or {}).get("stdout") == "1\n", r)
        for _ in range(2):
            made = call(gw, "POST", "/sessions", {})
            check("POST /sessions with %s down: a session on %s" % (b.name, a.name),
                  made.status == 201 and replica_of((made.json() or {}).get("id")) == a.name, made)
        unknown = call(gw, "POST", "/sessions/replica-c-%s/run" % ("0" * 32), {"code": "1"})
        check("a session id naming a replica nginx does not know: 404 from nginx",
              unknown.status == 404 and "replica-c" in (unknown.json() or {}).get("detail", ""), unknown)

        # --- replica-b back (same port): it answers for its old ids itself, and knows none
        b.start(b.port)
        b.wait_listening()
        b.wait_ready()
        for sid in [i for i in ids if replica_of(i) == b.name]:
            r = call(gw, "POST", "/sessions/%s/run" % sid, {"code": "n"})
            check("session %s... after %s restarted: 404 from %s (its sessions ended)"
                  % (sid[:14], b.name, b.name), r.status == 404 and "on this server" in r.body.decode(), r)
        print("     stop, failover and restart in %.1f s" % (time.monotonic() - t1), flush=True)

        check("nginx stops on SIGQUIT (graceful) with exit code 0", ngx.process.stop(signal.SIGQUIT) == 0,
              tail_file(os.path.join(tmp, "error.log")))
        for r in (a, b):
            check("%s stops on SIGTERM with exit code 0" % r.name, r.process.stop() == 0, r.process.tail())
    finally:
        for p in started:
            proc = p.process
            if proc is not None and proc.alive():
                proc.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "pyrunner"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    for path, what in ((binary, "make build"), (NGINX, "make deps: deps/test-packages.txt has nginx")):
        if not os.access(path, os.X_OK):
            print("FAIL %s missing (%s)" % (path, what))
            return 1
    tmp = tempfile.mkdtemp(prefix="pyrunner-replicas-")
    os.chmod(tmp, 0o755)  # nginx's worker (nobody, when the master is root) creates its temp dirs here
    t0 = time.monotonic()
    try:
        scenario(binary, tmp)
    except Failure as e:
        print("FAIL " + str(e), flush=True)
        print("     logs in " + tmp if args.keep else "     (--keep keeps the logs)", flush=True)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print("replicas behind nginx: all checks passed in %.1f s" % (time.monotonic() - t0), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
