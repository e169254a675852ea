// Sessions against a real server: state across calls, every route and status code, interrupts
// (at the timeout, or the client's) that keep the state, endings that free everything, expiry,
// isolation between sessions, and hostile code inside a session.

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <thread>

#include "support/harness.h"
#include "support/openapi_producers.h"
#include "support/processes.h"

namespace {

using namespace pyrunner::testing;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kPolicyOff = "policy:\n  enabled: false\n";

const TestServer& server() {
  static TestServer s(std::string(kPolicyOff) + "sessions:\n  interrupt_grace: 1\n");
  return s;
}

std::string create(const TestServer& s, json body = json::object()) {
  auto r = s.post("/sessions", body.dump());
  INFO(r.body);
  REQUIRE(r.status == 201);
  return r.json()["id"];
}

HttpResponse run_in(const TestServer& s, const std::string& id, const std::string& code,
                    json fields = json::object()) {
  fields["code"] = code;
  return s.post("/sessions/" + id + "/run", fields.dump());
}

json ok_in(const TestServer& s, const std::string& id, const std::string& code,
           json fields = json::object()) {
  auto r = run_in(s, id, code, std::move(fields));
  INFO(r.body.substr(0, 2000));
  REQUIRE(r.status == 200);
  return r.json();
}

}  // namespace

TEST_CASE("a session keeps variables, imports and files across runs", "[sessions]") {
  const auto& s = server();
  const std::string id = create(s);
  CHECK(id.size() > 33);
  CHECK(id.find('-') != std::string::npos);  // <replica>-<128 random bits>
  auto first = ok_in(s, id, "import pandas as pd\ndf = pd.DataFrame({'x': range(10)})");
  CHECK(first["status"] == "success");
  CHECK(first["execution_count"] == 1);
  auto sum = ok_in(s, id, "df.x.sum()");
  CHECK(sum["results"][0]["type"] == "execute_result");
  CHECK(sum["results"][0]["data"]["text/plain"] == "45");
  CHECK(sum["execution_count"] == 2);
  auto save = ok_in(s, id, "df.to_csv('d.csv')");
  REQUIRE(save["files"].size() == 1);
  CHECK(save["files"][0]["path"] == "d.csv");
  auto file = s.get("/sessions/" + id + "/files/d.csv");
  CHECK(file.status == 200);
  CHECK(file.headers["Content-Type"] == "text/csv");
  CHECK(file.body.rfind(",x\n0,0\n1,1\n", 0) == 0);
  auto listing = s.get("/sessions/" + id + "/files").json();
  CHECK(listing["files"] ==
        json::array({{{"path", "d.csv"}, {"size", file.body.size()}, {"mime", "text/csv"}}}));
  auto info = s.get("/sessions/" + id);
  REQUIRE(info.status == 200);
  CHECK(info.json()["status"] == "idle");
  CHECK(info.json()["execution_count"] == 3);
  CHECK(info.json()["memory_used"].get<double>() > 1);
  bool listed = false;
  const json all = s.get("/sessions").json();
  for (const auto& e : all["sessions"]) listed = listed || e["id"] == id;
  CHECK(listed);
  CHECK(s.del("/sessions/" + id).status == 204);
  auto gone = s.get("/sessions/" + id);
  CHECK(gone.status == 410);
  CHECK(gone.json()["detail"] == "session: ended: deleted by its client");
  CHECK(run_in(s, id, "1").status == 410);
  CHECK(s.del("/sessions/" + id).status == 410);
}

TEST_CASE("sessions answer 404, 409, 422 as the contract says", "[sessions]") {
  const auto& s = server();
  CHECK(s.get("/sessions/nosuch-00000000000000000000000000000000").status == 404);
  CHECK(run_in(s, "nosuch", "1").status == 404);
  CHECK(s.del("/sessions/nosuch").status == 404);
  const std::string id = create(s);
  CHECK(run_in(s, id, "1", {{"memory_limit", 256}}).json()["detail"] ==
        "memory_limit: a session's memory limit is set when it is created");
  CHECK(run_in(s, id, "   ").status == 422);
  CHECK(run_in(s, id, "1", {{"timeout", 0}}).status == 422);
  CHECK(s.post("/sessions/" + id + "/run", "{not json").status == 400);
  CHECK(s.post("/sessions", R"({"memory_limit": 1})").json()["detail"] ==
        "memory_limit: must be between 64 and 2048 (got 1)");
  CHECK(s.post("/sessions", R"({"idle_timeout": 0})").status == 422);
  CHECK(s.post("/sessions", R"({"files": [{"path": "../x", "content": ""}]})").json()["detail"] ==
        "files[0].path: must not contain '..'");
  CHECK(s.post("/sessions", "[1]").status == 422);
  // One run at a time: a second run while the first sleeps is 409, and the first goes on.
  auto slow = std::async(std::launch::async, [&] {
    return run_in(s, id, "import time\ntime.sleep(2)\nprint('done')");
  });
  REQUIRE(eventually([&] { return s.get("/sessions/" + id).json()["status"] == "busy"; }, 10s));
  auto busy = run_in(s, id, "1");
  CHECK(busy.status == 409);
  CHECK(busy.json()["detail"] == "session: busy: one run at a time");
  CHECK(slow.get().json()["stdout"] == "done\n");
  CHECK(s.del("/sessions/" + id).status == 204);
}

TEST_CASE("a timeout interrupts the code and keeps the state", "[sessions]") {
  const auto& s = server();
  const std::string id = create(s);
  auto timed_out = ok_in(s, id, "x = 41\nwhile True: pass", {{"timeout", 1}});
  CHECK(timed_out["status"] == "timeout");
  CHECK(timed_out["error"] == "Execution timed out after 1 s");
  CHECK(timed_out["exception"]["name"] == "KeyboardInterrupt");
  CHECK_FALSE(timed_out.contains("session_ended"));
  CHECK(ok_in(s, id, "x + 1")["results"][0]["data"]["text/plain"] == "42");
  // A MemoryError the code catches leaves the session as it was.
  auto caught =
      ok_in(s, id, "try:\n    a = bytearray(4 << 30)\nexcept MemoryError:\n    print('caught')");
  CHECK(caught["stdout"] == "caught\n");
  CHECK(ok_in(s, id, "x")["results"][0]["data"]["text/plain"] == "41");
  CHECK(s.del("/sessions/" + id).status == 204);
}

TEST_CASE("code that ignores the interrupt, or is OOM-killed, ends its session", "[sessions]") {
  const auto& s = server();
  const std::string stubborn = create(s);
  auto r = ok_in(s, stubborn,
                 "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass",
                 {{"timeout", 1}});
  CHECK(r["status"] == "timeout");
  CHECK(r["session_ended"] ==
        "its code did not stop within sessions.interrupt_grace (1000 ms) after the timeout");
  auto later = run_in(s, stubborn, "1");
  CHECK(later.status == 410);
  CHECK(later.json()["detail"].get<std::string>().find("interrupt_grace") != std::string::npos);

  const std::string hungry = create(s, {{"memory_limit", 128}});
  auto oom = ok_in(
      s, hungry,
      "open('/tmp/a', 'wb').write(b'x' * (60 << 20))\nopen('b', 'wb').write(b'y' * (100 << 20))");
  CHECK(oom["status"] == "memory_exceeded");
  CHECK(oom["session_ended"] == "the kernel's OOM killer ended it (memory limit 128 MB)");
  CHECK(s.get("/sessions/" + hungry).status == 410);

  const std::string suicidal = create(s);
  // (kill(getpid(), SIGKILL) does nothing: the session is PID 1 of its namespace, which its
  // own processes cannot signal. A fault is delivered whatever the PID.)
  auto killed = ok_in(s, suicidal, "import ctypes\nctypes.string_at(0)");
  CHECK(killed["status"] == "error");
  CHECK(killed["session_ended"] == "its interpreter was Killed by signal SIGSEGV");
  const std::string quitter = create(s);
  auto exited = ok_in(s, quitter, "import os\nos._exit(3)");
  CHECK(exited["session_ended"] == "its interpreter exited with code 3");
  // sys.exit() ends the run, not the session.
  const std::string polite = create(s);
  CHECK(ok_in(s, polite, "import sys\ny = 1\nsys.exit(2)")["exit_code"] == 2);
  CHECK(ok_in(s, polite, "y")["results"][0]["data"]["text/plain"] == "1");
  CHECK(s.del("/sessions/" + polite).status == 204);
  // The server and other sessions go on.
  CHECK(s.run("print(1)").json()["stdout"] == "1\n");
}

namespace {

// The session's code has reached the point that wrote `marker` into its working directory.
bool reached(const TestServer& s, const std::string& id, const std::string& marker) {
  return s.get("/sessions/" + id + "/files/" + marker).status == 200;
}

HttpResponse interrupt(const TestServer& s, const std::string& id) {
  return s.post("/sessions/" + id + "/interrupt", "");
}

}  // namespace

TEST_CASE("an interrupt stops the run with a KeyboardInterrupt and keeps the state",
          "[sessions][interrupt]") {
  const auto& s = server();
  const std::string id = create(s);
  ok_in(s, id, "x = 41");
  // Idle: nothing to interrupt, and that is no error.
  auto idle = interrupt(s, id);
  CHECK(idle.status == 200);
  CHECK(idle.json() == json{{"interrupted", false}});

  auto looping = std::async(std::launch::async, [&] {
    return run_in(s, id, "open('going', 'w').close()\nwhile True: pass");
  });
  REQUIRE(eventually([&] { return reached(s, id, "going"); }, 30s));
  auto asked = interrupt(s, id);
  CHECK(asked.status == 200);
  CHECK(asked.json() == json{{"interrupted", true}});
  auto stopped = looping.get();
  INFO(stopped.body.substr(0, 2000));
  REQUIRE(stopped.status == 200);
  const json r = stopped.json();
  CHECK(r["status"] == "error");
  CHECK(r["error"] == "Interrupted by the client");
  CHECK(r["exception"]["name"] == "KeyboardInterrupt");
  CHECK(r["exit_code"] == 1);
  CHECK(r["execution_count"] == 2);
  CHECK_FALSE(r.contains("session_ended"));
  CHECK(ok_in(s, id, "x + 1")["results"][0]["data"]["text/plain"] == "42");
  CHECK(interrupt(s, id).json() == json{{"interrupted", false}});

  // Code that catches the KeyboardInterrupt and finishes is still a run the client interrupted
  // (as a timed-out run is a timeout whatever it did); what it did next is in its output.
  auto catching = std::async(std::launch::async, [&] {
    return run_in(s, id,
                  "import time\nopen('again', 'w').close()\ntry:\n    time.sleep(120)\n"
                  "except KeyboardInterrupt:\n    y = 'caught'\n    print(y)");
  });
  REQUIRE(eventually([&] { return reached(s, id, "again"); }, 30s));
  CHECK(interrupt(s, id).json() == json{{"interrupted", true}});
  const json caught = catching.get().json();
  CHECK(caught["status"] == "error");
  CHECK(caught["error"] == "Interrupted by the client");
  CHECK(caught["stdout"] == "caught\n");
  CHECK(caught["exception"].is_null());
  CHECK(ok_in(s, id, "y")["results"][0]["data"]["text/plain"] == "'caught'");

  CHECK(s.del("/sessions/" + id).status == 204);
  auto gone = interrupt(s, id);
  CHECK(gone.status == 410);
  CHECK(gone.json()["detail"] == "session: ended: deleted by its client");
  auto unknown = interrupt(s, "nosuch-00000000000000000000000000000000");
  CHECK(unknown.status == 404);
  CHECK(unknown.json()["detail"] ==
        "session: no session 'nosuch-00000000000000000000000000000000' on this server");
}

TEST_CASE("an interrupt as a run starts reaches its code, not the runner",
          "[sessions][interrupt]") {
  // Sent as soon as the session is busy: the request may not even have reached the child. The
  // server holds the SIGINT until the code starts (the runner says so), or it would land in
  // the runner and end the session.
  const auto& s = server();
  const std::string id = create(s);
  ok_in(s, id, "x = 1");
  for (int i = 0; i < 10; ++i) {
    INFO("round " << i);
    auto sleeping = std::async(std::launch::async,
                               [&] { return run_in(s, id, "import time\ntime.sleep(120)"); });
    bool asked = false;  // as often as the server answers: the earliest moment is the point
    for (const auto until = std::chrono::steady_clock::now() + 30s;
         !asked && std::chrono::steady_clock::now() < until;)
      asked = interrupt(s, id).json() == json{{"interrupted", true}};
    REQUIRE(asked);
    const auto stopped = sleeping.get();
    INFO(stopped.body.substr(0, 2000));
    REQUIRE(stopped.status == 200);
    const json r = stopped.json();
    CHECK(r["error"] == "Interrupted by the client");
    // Interrupted before the code was sent, the run never starts (no exception); after, the
    // code has the KeyboardInterrupt. Either way the session goes on.
    CHECK((r["exception"].is_null() || r["exception"]["name"] == "KeyboardInterrupt"));
    CHECK_FALSE(r.contains("session_ended"));
  }
  CHECK(ok_in(s, id, "x")["results"][0]["data"]["text/plain"] == "1");
}

TEST_CASE("code that ignores an interrupt is killed after interrupt_grace, ending its session",
          "[sessions][interrupt]") {
  const auto& s = server();
  const std::string id = create(s);
  auto stubborn = std::async(std::launch::async, [&] {
    return run_in(s, id,
                  "import time\nopen('going', 'w').close()\nwhile True:\n    try:\n"
                  "        time.sleep(1)\n    except KeyboardInterrupt:\n        pass");
  });
  REQUIRE(eventually([&] { return reached(s, id, "going"); }, 30s));
  CHECK(interrupt(s, id).json() == json{{"interrupted", true}});
  const std::string reason =
      "its code did not stop within sessions.interrupt_grace (1000 ms) after the client "
      "interrupted it";
  auto killed = stubborn.get();
  INFO(killed.body.substr(0, 2000));
  REQUIRE(killed.status == 200);
  CHECK(killed.json()["status"] == "error");
  CHECK(killed.json()["error"] == "Interrupted by the client");
  CHECK(killed.json()["session_ended"] == reason);
  auto later = run_in(s, id, "1");
  CHECK(later.status == 410);
  CHECK(later.json()["detail"] == "session: ended: " + reason);
  CHECK(interrupt(s, id).status == 410);
  CHECK(s.get("/sessions/" + id).status == 410);
}

TEST_CASE("a run interrupted while it waits for a run slot never starts", "[sessions][interrupt]") {
  TestServer s(std::string(kPolicyOff) +
               "python:\n  preload: []\nserver:\n  max_concurrent_runs: 1\n  queue_timeout: 120\n");
  const std::string id = create(s);
  ok_in(s, id, "x = 41");
  auto held = std::make_unique<HeldRun>(s);  // the only run slot
  REQUIRE(held->running());
  auto queued = std::async(std::launch::async, [&] { return run_in(s, id, "x = 99"); });
  REQUIRE(eventually([&] { return s.get("/sessions/" + id).json()["status"] == "busy"; }, 30s));
  CHECK(interrupt(s, id).json() == json{{"interrupted", true}});
  held.reset();  // its client hangs up: the server kills it and the slot is free
  auto r = queued.get();
  INFO(r.body.substr(0, 2000));
  REQUIRE(r.status == 200);
  CHECK(r.json()["status"] == "error");
  CHECK(r.json()["error"] == "Interrupted by the client");
  CHECK(r.json()["exception"].is_null());
  CHECK(ok_in(s, id, "x")["results"][0]["data"]["text/plain"] == "41");
}

TEST_CASE("two sessions share nothing", "[sessions]") {
  const auto& s = server();
  const std::string a = create(s), b = create(s);
  ok_in(s, a,
        "import os, socket\n"
        "secret = 'alpha'\n"
        "open('mine.txt', 'w').write(secret)\n"
        "open('/tmp/t', 'w').write(secret)\n"
        "open('/dev/shm/m', 'w').write(secret)\n"
        "srv = socket.socket(socket.AF_UNIX)\n"
        "srv.bind('\\0pyrunner-session-test')\n"
        "srv.listen()\n"
        "pid = os.getpid()\n");
  auto seen = ok_in(s, b,
                    "import os, socket, signal\n"
                    "print(sorted(os.listdir('.')), os.path.exists('/tmp/t'),"
                    " os.path.exists('/dev/shm/m'), 'secret' in globals())\n"
                    "c = socket.socket(socket.AF_UNIX)\n"
                    "try:\n"
                    "    c.connect('\\0pyrunner-session-test'); print('connected')\n"
                    "except OSError as e:\n"
                    "    print('refused')\n"
                    "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n");
  CHECK(seen["stdout"] == "[] False False False\nrefused\n[1]\n");
  CHECK(ok_in(s, a, "print(open('mine.txt').read(), len(srv.getsockname()))")["stdout"] ==
        "alpha 22\n");
  CHECK(s.del("/sessions/" + a).status == 204);
  CHECK(s.del("/sessions/" + b).status == 204);
}

TEST_CASE("the files route never leaves the working directory nor follows a link", "[sessions]") {
  const auto& s = server();
  const std::string id =
      create(s, {{"files", json::array({{{"path", "in/data.txt"}, {"content", "given"}}})}});
  ok_in(s, id,
        "import os\n"
        "os.symlink('/etc/passwd', 'passwd')\n"
        "os.symlink('/proc/1/environ', 'environ')\n"
        "os.symlink('in', 'dirlink')\n"
        "os.mkfifo('fifo')\n"
        "os.mkdir('sub')\n");
  CHECK(s.get("/sessions/" + id + "/files/in/data.txt").body == "given");
  for (const char* path : {"passwd", "environ", "dirlink/data.txt"}) {
    auto r = s.get("/sessions/" + id + "/files/" + path);
    INFO(path << " " << r.body);
    CHECK(r.status == 422);
    CHECK(r.json()["detail"] == "path: not a regular file (a link)");
  }
  CHECK(s.get("/sessions/" + id + "/files/fifo").json()["detail"] == "path: not a regular file");
  CHECK(s.get("/sessions/" + id + "/files/sub").json()["detail"] == "path: not a regular file");
  CHECK(s.get("/sessions/" + id + "/files/nothing").status == 404);
  CHECK(s.get("/sessions/" + id + "/files/../../etc/passwd").status != 200);
  CHECK(s.get("/sessions/" + id + "/files/in/../../x").status != 200);
  auto listing = s.get("/sessions/" + id + "/files").json()["files"];
  CHECK(listing == json::array({{{"path", "in/data.txt"}, {"size", 5}, {"mime", "text/plain"}}}));
  CHECK(s.del("/sessions/" + id).status == 204);
}

TEST_CASE("limits: max_sessions, idle expiry, lifetime, SIGTERM free everything", "[sessions]") {
  TestServer s(std::string(kPolicyOff) +
               "sessions:\n  max_sessions: 2\n  idle_timeout: 60\n  max_lifetime: 3\n");
  const std::string a = create(s), b = create(s, {{"idle_timeout", 1}});
  auto over = s.post("/sessions", "{}");
  CHECK(over.status == 429);
  CHECK(over.headers.count("Retry-After") == 1);
  // b idles out after 1 s, a reaches its 3 s lifetime.
  CHECK(eventually([&] { return s.get("/sessions/" + b).status == 410; }, 20s));
  CHECK(s.get("/sessions/" + b).json()["detail"] == "session: ended: expired: idle for 1 s");
  CHECK(eventually([&] { return s.get("/sessions/" + a).status == 410; }, 20s));
  CHECK(s.get("/sessions/" + a).json()["detail"] ==
        "session: ended: expired: reached sessions.max_lifetime (3 s)");
  // A session with a daemon it started, then SIGTERM: nothing of it is left.
  const std::string c = create(s);
  auto pid = ok_in(s, c,
                   "import os, subprocess\n"
                   "p = subprocess.Popen(['/usr/bin/sleep', '1000'])\n"
                   "print(p.pid)\n");
  CHECK(pid["status"] == "success");
  const auto prefixes = run_cgroup_prefixes_of(s.pid());
  CHECK(s.terminate() == 0);
  CHECK(remaining_run_cgroups(prefixes).empty());
  CHECK(stray_processes().empty());
}

TEST_CASE("a container's root, without CAP_DAC_* or CAP_SYS_PTRACE, serves sessions' files",
          "[sessions]") {
  // Docker's root (the documented flags) has none of them: the files routes must not need
  // /proc/<pid>/root (ptrace access) nor to bypass file modes.
  TestServer s(kPolicyOff, {}, true,
               {"/usr/bin/setpriv", "--bounding-set=-dac_override,-dac_read_search,-sys_ptrace"});
  const std::string id =
      create(s, {{"files", json::array({{{"path", "in/data.txt"}, {"content", "given"}}})}});
  ok_in(s, id, "import os\nos.makedirs('out/deep')\nopen('out/deep/r.txt', 'w').write('made')\n");
  CHECK(s.get("/sessions/" + id + "/files/in/data.txt").body == "given");
  auto made = s.get("/sessions/" + id + "/files/out/deep/r.txt");
  INFO(made.body);
  CHECK(made.status == 200);
  CHECK(made.body == "made");
  auto listing = s.get("/sessions/" + id + "/files");
  INFO(listing.body);
  REQUIRE(listing.status == 200);
  CHECK(listing.json()["files"].size() == 2);
  CHECK(s.del("/sessions/" + id).status == 204);
}

TEST_CASE("examples/client.py's Session keeps state, interrupts, reads files and ends",
          "[sessions]") {
  const auto& s = server();
  // The documented library use, as a user's script would: /usr/bin/python3 imports client.py.
  const std::string script =
      "import sys\n"
      "sys.path.insert(0, sys.argv[1])\n"
      "from client import Session, PyRunnerError\n"
      "with Session(sys.argv[2], files={'in.txt': b'\\xffbytes'}) as s:\n"
      "    s.run('import numpy as np\\nx = np.arange(10)')\n"
      "    assert s.run('print(x.sum())')['stdout'] == '45\\n'\n"
      "    s.run('open(\"out dir.txt\", \"w\").write(\"hi\")')\n"
      "    assert [f['path'] for f in s.files()] == ['in.txt', 'out dir.txt'], s.files()\n"
      "    assert s.read('out dir.txt') == b'hi' and s.read('in.txt') == b'\\xffbytes'\n"
      "    assert s.run('import time; time.sleep(9)', timeout=1)['status'] == 'timeout'\n"
      "    assert s.run('print(x[-1])')['stdout'] == '9\\n'\n"
      "    import threading, time\n"
      "    assert s.interrupt() is False\n"
      "    got = {}\n"
      "    t = threading.Thread(target=lambda: got.update(s.run(\n"
      "        'import time\\nopen(\"going\", \"w\").close()\\ntime.sleep(60)', timeout=120)))\n"
      "    t.start()\n"
      "    deadline = time.monotonic() + 30\n"
      "    while 'going' not in [f['path'] for f in s.files()] and time.monotonic() < deadline:\n"
      "        time.sleep(0.01)\n"
      "    assert s.interrupt() is True\n"
      "    t.join()\n"
      "    assert got['error'] == 'Interrupted by the client', got\n"
      "    assert got['exception']['name'] == 'KeyboardInterrupt', got\n"
      "    assert s.run('print(x[0])')['stdout'] == '0\\n'\n"
      "    ended = s.id\n"
      "try:\n"
      "    s.run('1')\n"
      "    sys.exit('ran in an ended session')\n"
      "except PyRunnerError as e:\n"
      "    assert e.status == 410, e\n"
      "print('ok')\n";
  TempFile file(script, "uses_session.py");
  auto p = run_process({"/usr/bin/python3", file.path(),
                        std::filesystem::path(source_path("examples/client.py")).parent_path(),
                        "http://127.0.0.1:" + std::to_string(s.port())});
  INFO(p.out << p.err);
  CHECK(p.exit_code == 0);
  CHECK(p.out == "ok\n");
}

// How the OpenAPI test (tests/http/serve_test.cc) makes the sessions routes give each status.
namespace {

// A session of `s` that ended: DELETE answered, its tombstone answers 410.
std::string ended(const TestServer& s) {
  const std::string id = create(s);
  REQUIRE(s.del("/sessions/" + id).status == 204);
  return id;
}

// Calls `ask` with a fresh session's id, then ends the session.
HttpResponse in_session(const TestServer& s,
                        const std::function<HttpResponse(const std::string&)>& ask,
                        json body = json::object()) {
  const std::string id = create(s, std::move(body));
  auto answer = ask(id);
  s.del("/sessions/" + id);
  return answer;
}

const std::string kNoSuch = "/sessions/nosuch-00000000000000000000000000000000";
const json kOneFile = {{"files", json::array({{{"path", "a.txt"}, {"content", "a"}}})}};

const RegisterProducers kProducers({
    {"POST /sessions 201",
     [](const TestServer& s) {
       auto r = s.post("/sessions", "{}");
       if (r.status == 201) s.del("/sessions/" + r.json()["id"].get<std::string>());
       return r;
     }},
    {"POST /sessions 400", [](const TestServer& s) { return s.post("/sessions", "{"); }},
    {"POST /sessions 422",
     [](const TestServer& s) { return s.post("/sessions", R"({"memory_limit": 1})"); }},
    {"POST /sessions 429",
     [](const TestServer&) {
       TestServer full(std::string(kPolicyOff) + "sessions:\n  max_sessions: 0\n");
       return full.post("/sessions", "{}");
     }},
    {"GET /sessions 200", [](const TestServer& s) { return s.get("/sessions"); }},
    {"GET /sessions/{id} 200",
     [](const TestServer& s) {
       return in_session(s, [&](const std::string& id) { return s.get("/sessions/" + id); });
     }},
    {"GET /sessions/{id} 404", [](const TestServer& s) { return s.get(kNoSuch); }},
    {"GET /sessions/{id} 410", [](const TestServer& s) { return s.get("/sessions/" + ended(s)); }},
    {"DELETE /sessions/{id} 204",
     [](const TestServer& s) { return s.del("/sessions/" + create(s)); }},
    {"DELETE /sessions/{id} 404", [](const TestServer& s) { return s.del(kNoSuch); }},
    {"DELETE /sessions/{id} 410",
     [](const TestServer& s) { return s.del("/sessions/" + ended(s)); }},
    {"POST /sessions/{id}/run 200",
     [](const TestServer& s) {
       return in_session(s, [&](const std::string& id) { return run_in(s, id, "print(1)"); });
     }},
    {"POST /sessions/{id}/run 400",
     [](const TestServer& s) {
       return in_session(
           s, [&](const std::string& id) { return s.post("/sessions/" + id + "/run", "{"); });
     }},
    {"POST /sessions/{id}/run 404",
     [](const TestServer& s) { return s.post(kNoSuch + "/run", R"({"code": "1"})"); }},
    {"POST /sessions/{id}/run 409",
     [](const TestServer& s) {
       return in_session(s, [&](const std::string& id) {
         auto slow = std::async(std::launch::async,
                                [&] { return run_in(s, id, "import time\ntime.sleep(2)"); });
         REQUIRE(
             eventually([&] { return s.get("/sessions/" + id).json()["status"] == "busy"; }, 10s));
         auto busy = run_in(s, id, "1");
         slow.get();
         return busy;
       });
     }},
    {"POST /sessions/{id}/run 410", [](const TestServer& s) { return run_in(s, ended(s), "1"); }},
    {"POST /sessions/{id}/run 422",
     [](const TestServer& s) {
       return in_session(s, [&](const std::string& id) { return run_in(s, id, "   "); });
     }},
    {"POST /sessions/{id}/interrupt 200",
     [](const TestServer& s) {
       return in_session(s, [&](const std::string& id) { return interrupt(s, id); });
     }},
    {"POST /sessions/{id}/interrupt 404",
     [](const TestServer& s) { return s.post(kNoSuch + "/interrupt", ""); }},
    {"POST /sessions/{id}/interrupt 410",
     [](const TestServer& s) { return interrupt(s, ended(s)); }},
    {"GET /sessions/{id}/files 200",
     [](const TestServer& s) {
       return in_session(
           s, [&](const std::string& id) { return s.get("/sessions/" + id + "/files"); }, kOneFile);
     }},
    {"GET /sessions/{id}/files 404", [](const TestServer& s) { return s.get(kNoSuch + "/files"); }},
    {"GET /sessions/{id}/files 410",
     [](const TestServer& s) { return s.get("/sessions/" + ended(s) + "/files"); }},
    {"GET /sessions/{id}/files/{path} 200",
     [](const TestServer& s) {
       return in_session(
           s, [&](const std::string& id) { return s.get("/sessions/" + id + "/files/a.txt"); },
           kOneFile);
     }},
    {"GET /sessions/{id}/files/{path} 404",
     [](const TestServer& s) { return s.get(kNoSuch + "/files/a.txt"); }},
    {"GET /sessions/{id}/files/{path} 410",
     [](const TestServer& s) { return s.get("/sessions/" + ended(s) + "/files/a.txt"); }},
    {"GET /sessions/{id}/files/{path} 422",
     [](const TestServer& s) {
       return in_session(s, [&](const std::string& id) {
         run_in(s, id, "import os\nos.mkdir('sub')");
         return s.get("/sessions/" + id + "/files/sub");
       });
     }},
});

}  // namespace
