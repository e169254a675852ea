// Streamed runs of the real server on loopback (core/streaming): POST /run and
// POST /sessions/{id}/run with Accept: application/x-ndjson or text/event-stream. Event order and
// content, each event arriving while the run is still going (the run waits for the test to have
// seen it), the result event equal to the plain answer, figures, sessions, errors, timeouts,
// truncation, refusals that stay plain JSON, and clients that hang up or stop reading. With
// httplib, curl -N, and Python clients reading line by line (examples/client.py).

#include <httplib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "support/harness.h"
#include "support/pool_probe.h"
#include "support/raw_connection.h"

namespace {

using namespace pyrunner::testing;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kNdjson = "application/x-ndjson";
constexpr const char* kSse = "text/event-stream";

// Policy off (the runs use os and time), a small output cap (truncation), figures' libraries
// preloaded.
constexpr const char* kConfig =
    "policy:\n  enabled: false\n"
    "limits:\n  max_output_bytes: 65536\n"
    "python:\n  preload: [numpy, matplotlib, matplotlib.pyplot]\n"
    "server:\n  max_concurrent_runs: 2\n";

const TestServer& server() {
  static TestServer s(kConfig);
  return s;
}

std::string url(const TestServer& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.port()) + path;
}

// A streamed answer as the client saw it.
struct Streamed {
  int status = 0;
  std::string content_type;
  std::string raw;                 // the body
  std::vector<json> events;        // in arrival order
  std::vector<std::string> names;  // SSE: each event's "event:" field
  int keep_alives = 0;             // SSE comments
  bool malformed = false;          // a line or message that is not an event

  const json& last() const { return events.back(); }
  // The texts of the events of `type`, put together.
  std::string text(const std::string& type) const {
    std::string all;
    for (const auto& e : events)
      if (e["type"] == type) all += e["text"].get<std::string>();
    return all;
  }
  std::vector<std::string> types() const {
    std::vector<std::string> t;
    for (const auto& e : events) t.push_back(e["type"]);
    return t;
  }
};

// Parses events out of `buffer` as they complete (NDJSON lines, SSE messages).
class EventParser {
 public:
  EventParser(Streamed& out, std::function<bool(const json&)> on_event)
      : out_(out), on_event_(std::move(on_event)) {}
  // False when on_event asks to hang up.
  bool feed(const char* data, size_t n) {
    buffer_.append(data, n);
    const bool sse = out_.content_type.rfind(kSse, 0) == 0;
    const std::string end = sse ? "\n\n" : "\n";
    for (size_t at; (at = buffer_.find(end)) != std::string::npos;) {
      const std::string piece = buffer_.substr(0, at);
      buffer_.erase(0, at + end.size());
      if (!(sse ? message(piece) : event(piece))) return false;
    }
    return true;
  }

 private:
  bool event(const std::string& text) {
    json e = json::parse(text, nullptr, false);
    if (!e.is_object() || !e.contains("type")) {
      out_.malformed = true;
      return true;
    }
    out_.events.push_back(e);
    return !on_event_ || on_event_(out_.events.back());
  }
  bool message(const std::string& text) {
    std::istringstream lines(text);
    std::string line, name, data;
    int fields = 0;
    while (std::getline(lines, line)) {
      if (line.rfind(":", 0) == 0) {
        ++out_.keep_alives;
      } else if (line.rfind("event: ", 0) == 0) {
        name = line.substr(7);
        ++fields;
      } else if (line.rfind("data: ", 0) == 0) {
        data = line.substr(6);
        ++fields;
      } else {
        out_.malformed = true;
      }
    }
    if (fields == 0) return true;  // a comment only
    if (fields != 2) out_.malformed = true;
    out_.names.push_back(name);
    return event(data);
  }

  Streamed& out_;
  std::function<bool(const json&)> on_event_;
  std::string buffer_;
};

// POST `path` asking for `accept`; `on_event` sees each event as it arrives (false: hang up).
Streamed post_stream(const TestServer& s, const std::string& path, const json& body,
                     const std::string& accept = kNdjson,
                     std::function<bool(const json&)> on_event = {}) {
  Streamed out;
  EventParser parser(out, std::move(on_event));
  httplib::Client client("127.0.0.1", s.port());
  client.set_read_timeout(120);
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  req.set_header("Accept", accept);
  req.response_handler = [&](const httplib::Response& res) {
    out.status = res.status;
    out.content_type = res.get_header_value("Content-Type");
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    out.raw.append(data, n);
    return out.status != 200 || parser.feed(data, n);
  };
  client.send(req);
  return out;
}

Streamed stream_run(const TestServer& s, const std::string& code, json fields = json::object(),
                    const std::string& accept = kNdjson,
                    std::function<bool(const json&)> on_event = {}) {
  fields["code"] = code;
  return post_stream(s, "/run", fields, accept, std::move(on_event));
}

json plain_run(const TestServer& s, const std::string& code) {
  auto r = s.post("/run", json{{"code", code}}.dump());
  REQUIRE(r.status == 200);
  return r.json();
}

void check_well_formed(const Streamed& st, const char* content_type) {
  INFO(st.raw.substr(0, 3000));
  REQUIRE(st.status == 200);
  CHECK(st.content_type == content_type);
  CHECK_FALSE(st.malformed);
  REQUIRE_FALSE(st.events.empty());
  CHECK(st.last()["type"] == "result");
  for (size_t i = 0; i + 1 < st.events.size(); ++i) CHECK(st.events[i]["type"] != "result");
}

// Every field but the two that differ from one run of the same code to the next.
json comparable(json result) {
  REQUIRE(result.is_object());
  result.erase("execution_time");
  result.erase("memory_used");
  return result;
}

std::vector<std::string> keys(const json& object) {
  std::vector<std::string> k;
  for (const auto& [key, value] : object.items()) k.push_back(key);
  return k;
}

// Code that says where it is, then waits for the test: it writes `marker` into its working
// directory, and each wait(name) returns once the test has created `name` there (go()). So an
// event the test reacts to provably arrived while the run was still going.
int markers = 0;
std::string new_marker() {
  return "marker-" + std::to_string(getpid()) + "-" + std::to_string(++markers);
}

std::string waiting_code(const std::string& marker, const std::string& body) {
  return "import os, sys, time\n"
         "def wait(name):\n"
         "    while not os.path.exists(name):\n"
         "        time.sleep(0.002)\n"
         "open('" +
         marker + "', 'w').close()\n" + body;
}

// Creates `name` in the working directory of the server's child (a run) that holds `marker`.
bool go(const TestServer& s, const std::string& marker, const std::string& name) {
  for (pid_t child : children_of(s.pid())) {
    const std::string home = "/proc/" + std::to_string(child) + "/root/home/user/";
    std::error_code ec;
    if (!std::filesystem::exists(home + marker, ec)) continue;
    std::ofstream(home + name).close();
    return std::filesystem::exists(home + name, ec);
  }
  return false;
}

std::optional<double> metric(const TestServer& s, const std::string& name) {
  return pyrunner::testing::metric(s.get("/metrics").body, name);
}

int running(const TestServer& s) {
  auto h = s.get("/").json();
  return h.is_object() && h.contains("runs") ? h["runs"].value("running", -1) : -1;
}

}  // namespace

TEST_CASE("NDJSON: each event arrives while the run is still going, in order", "[stream]") {
  const auto& s = server();
  const std::string marker = new_marker();
  const std::string code = waiting_code(marker,
                                        "print('first')\n"
                                        "wait('go1')\n"
                                        "print('second', file=sys.stderr)\n"
                                        "wait('go2')\n"
                                        "display('shown')\n"
                                        "wait('go3')\n"
                                        "print('last')\n"
                                        "6 * 7\n");
  std::vector<std::string> released;
  auto st = stream_run(s, code, {}, kNdjson, [&](const json& e) {
    // Each event the run waits on lets it go on: it cannot have ended before the event came.
    const auto release = [&](const char* name) {
      if (go(s, marker, name)) released.push_back(name);
    };
    if (e["type"] == "stdout" && e["text"] == "first\n") release("go1");
    if (e["type"] == "stderr" && e["text"] == "second\n") release("go2");
    if (e["type"] == "display") release("go3");
    return true;
  });
  check_well_formed(st, kNdjson);
  CHECK(released == std::vector<std::string>{"go1", "go2", "go3"});
  CHECK(st.types() == std::vector<std::string>{"stdout", "stderr", "display", "stdout",
                                               "execute_result", "result"});
  const json& result = st.last()["result"];
  CHECK(result["status"] == "success");
  CHECK(result["stdout"] == "first\nlast\n");
  CHECK(result["stderr"] == "second\n");
  REQUIRE(result["results"].size() == 2);
  CHECK(st.events[2] == result["results"][0]);
  CHECK(st.events[2]["data"]["text/plain"] == "'shown'");
  CHECK(st.events[4] == result["results"][1]);
  CHECK(st.events[4]["data"]["text/plain"] == "42");
}

TEST_CASE("the result event is the plain answer; figures stream as display events", "[stream]") {
  const auto& s = server();
  const std::string code =
      "import sys\nimport matplotlib.pyplot as plt\n"
      "print('hi')\nprint('careful', file=sys.stderr)\n"
      "plt.plot([1, 2, 3], [1, 4, 9])\nplt.show()\n"
      "{'a': 1}\n";
  const json plain = plain_run(s, code);
  for (const char* accept : {kNdjson, kSse}) {
    INFO(accept);
    auto st = stream_run(s, code, {}, accept);
    check_well_formed(st, accept);
    const json& result = st.last()["result"];
    CHECK(keys(result) == keys(plain));  // the same fields, in the same order
    CHECK(comparable(result) == comparable(plain));
    CHECK(st.text("stdout") == "hi\n");
    CHECK(st.text("stderr") == "careful\n");
    json shown = json::array();
    for (const auto& e : st.events)
      if (e["type"] == "display" || e["type"] == "execute_result") shown.push_back(e);
    CHECK(shown == result["results"]);
    REQUIRE(shown.size() == 2);
    CHECK(shown[0]["type"] == "display");
    CHECK(shown[0]["data"]["image/png"].get<std::string>().rfind("iVBORw0KGgo", 0) == 0);
    CHECK(shown[0]["metadata"]["image/png"]["width"].is_number());
    CHECK(shown[1]["type"] == "execute_result");
  }
}

TEST_CASE("SSE: named events whose data is the event, and no-cache", "[stream]") {
  const auto& s = server();
  httplib::Client client("127.0.0.1", s.port());
  auto r = client.Post("/run", {{"Accept", kSse}}, json{{"code", "print(1)\nprint(2)"}}.dump(),
                       "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->get_header_value("Content-Type") == kSse);
  CHECK(r->get_header_value("Cache-Control") == "no-cache");
  CHECK(r->get_header_value("Transfer-Encoding") == "chunked");
  Streamed st;
  st.content_type = kSse;
  EventParser(st, {}).feed(r->body.data(), r->body.size());
  CHECK_FALSE(st.malformed);
  REQUIRE(st.events.size() >= 2);
  REQUIRE(st.names.size() == st.events.size());
  for (size_t i = 0; i < st.events.size(); ++i) CHECK(st.names[i] == st.events[i]["type"]);
  CHECK(st.text("stdout") == "1\n2\n");
  CHECK(st.last()["result"]["stdout"] == "1\n2\n");
}

TEST_CASE("without a streaming Accept nothing changes", "[stream]") {
  const auto& s = server();
  for (const char* accept : {"", "application/json", "*/*", "application/x-ndjson;q=0"}) {
    INFO(accept);
    httplib::Client client("127.0.0.1", s.port());
    httplib::Headers headers;
    if (*accept) headers.emplace("Accept", accept);
    auto r = client.Post("/run", headers, R"J({"code": "print(1)"})J", "application/json");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Type") == "application/json");
    CHECK(json::parse(r->body)["stdout"] == "1\n");
  }
}

TEST_CASE("refusals before the run are plain JSON answers, not streams", "[stream]") {
  const auto& s = server();
  auto invalid = post_stream(s, "/run", json::object());
  CHECK(invalid.status == 422);
  CHECK(invalid.content_type == "application/json");
  CHECK(json::parse(invalid.raw)["detail"].get<std::string>().rfind("code: ", 0) == 0);
  auto unknown = post_stream(s, "/sessions/nosuch-0123/run", {{"code", "print(1)"}}, kSse);
  CHECK(unknown.status == 404);
  CHECK(unknown.content_type == "application/json");
  CHECK(json::parse(unknown.raw).contains("detail"));
}

TEST_CASE("a session's runs stream; state carries over; a busy session is a plain 409",
          "[stream][sessions]") {
  const auto& s = server();
  auto made = s.post("/sessions", "{}");
  REQUIRE(made.status == 201);
  const std::string id = made.json()["id"];
  const std::string path = "/sessions/" + id + "/run";
  auto first = post_stream(s, path, {{"code", "x = 41\nprint('set')"}});
  check_well_formed(first, kNdjson);
  CHECK(first.types() == std::vector<std::string>{"stdout", "result"});
  CHECK(first.last()["result"]["execution_count"] == 1);

  // While a streamed run waits, another run of the session is refused plainly.
  const std::string marker = new_marker();
  HttpResponse busy;
  auto second = post_stream(s, path, {{"code", waiting_code(marker, "print(x + 1)\nwait('go')\n")}},
                            kSse, [&](const json& e) {
                              if (e["type"] == "stdout") {
                                busy = s.post(path, R"J({"code": "print(0)"})J");
                                go(s, marker, "go");
                              }
                              return true;
                            });
  check_well_formed(second, kSse);
  CHECK(second.text("stdout") == "42\n");
  const json& result = second.last()["result"];
  CHECK(result["status"] == "success");
  CHECK(result["execution_count"] == 2);
  CHECK(busy.status == 409);
  CHECK(busy.json()["detail"] == "session: busy: one run at a time");
  CHECK(s.del("/sessions/" + id).status == 204);
}

TEST_CASE("an error run streams its traceback, then the error result", "[stream]") {
  auto st = stream_run(server(), "print('before')\n1/0\n");
  check_well_formed(st, kNdjson);
  const json& result = st.last()["result"];
  CHECK(result["status"] == "error");
  CHECK(result["error"] == "ZeroDivisionError: division by zero");
  CHECK(result["exception"]["name"] == "ZeroDivisionError");
  CHECK(st.text("stdout") == "before\n");
  CHECK(st.text("stderr") == result["stderr"]);
  CHECK(st.text("stderr").find("ZeroDivisionError: division by zero") != std::string::npos);
}

TEST_CASE("a run that times out streams what it printed, then the timeout", "[stream]") {
  auto st = stream_run(server(),
                       "import sys\nprint('partial')\nprint('warning', file=sys.stderr)\n"
                       "while True:\n    pass\n",
                       {{"timeout", 1}});
  check_well_formed(st, kNdjson);
  CHECK(st.types() == std::vector<std::string>{"stdout", "stderr", "result"});
  const json& result = st.last()["result"];
  CHECK(result["status"] == "timeout");
  CHECK(result["error"] == "Execution timed out after 1 s");
  CHECK(result["stdout"] == "partial\n");
  CHECK(result["stderr"] == "warning\n");  // written out when printed, before the kill
}

TEST_CASE("huge output is cut at the cap in the stream as in the result", "[stream]") {
  // 65536 bytes of stdout at most (kConfig); two-byte characters straddle reads and the cap.
  auto st = stream_run(server(),
                       "import sys\nsys.stdout.write('x' * 65535)\nprint('é' * 100000)\n"
                       "print('e' * 100000, file=sys.stderr)\n");
  check_well_formed(st, kNdjson);
  const json& result = st.last()["result"];
  CHECK(result["truncated"] == true);
  CHECK(result["status"] == "success");
  CHECK(st.text("stdout") == result["stdout"]);
  CHECK(st.text("stderr") == result["stderr"]);
  CHECK(st.text("stderr").size() == 65536);
  // The cap cut the first 'é' in two: its first byte, replaced, ends both alike.
  CHECK(st.text("stdout") == std::string(65535, 'x') + "\xEF\xBF\xBD");
}

TEST_CASE("a client that hangs up mid-stream has its run killed", "[stream]") {
  TestServer s("policy:\n  enabled: false\npython:\n  preload: []\n");
  RawConnection conn(s.port());
  REQUIRE(conn.connected());
  REQUIRE(conn.post("/run", json{{"code", "while True:\n    print(1)"}, {"timeout", 120}}.dump(),
                    kNdjson));
  REQUIRE(conn.read_until("{\"type\":\"stdout\""));
  CHECK(running(s) == 1);
  CHECK(metric(s, "pyrunner_streams_active") == 1.0);
  CHECK(metric(s, "pyrunner_streams_total") == 1.0);
  conn.close();
  CHECK(eventually([&] { return running(s) == 0; }, 10s));
  CHECK(eventually([&] { return metric(s, "pyrunner_streams_active") == 0.0; }, 10s));
  auto next = s.run("print('next')");
  CHECK(next.status == 200);
  CHECK(next.json()["stdout"] == "next\n");
}

TEST_CASE("a client that stops reading has its run killed when the write times out", "[stream]") {
  // The connection stays open (no hang-up to notice): only the stream's failed write can end
  // the run. The output cap is high enough to fill every buffer on the way.
  TestServer s(
      "policy:\n  enabled: false\npython:\n  preload: []\nlimits:\n  max_output_bytes: "
      "268435456\n");
  RawConnection conn(s.port(), 4096);
  REQUIRE(conn.connected());
  REQUIRE(conn.post("/run",
                    json{{"code", "while True:\n    print('x' * 999)"}, {"timeout", 300}}.dump(),
                    kNdjson));
  REQUIRE(conn.read_until("{\"type\":\"stdout\""));
  REQUIRE(eventually([&] { return running(s) == 1; }, 10s));
  CHECK(eventually([&] { return running(s) == 0; }, 60s));  // the 5 s write timeout, then the kill
  CHECK(eventually([&] { return metric(s, "pyrunner_streams_active") == 0.0; }, 10s));
  CHECK(s.log().find("status=aborted") != std::string::npos);
  conn.close();
}

TEST_CASE("curl -N shows each line as it is printed", "[stream]") {
  const auto& s = server();
  const std::string marker = new_marker();
  TempFile body(
      json{{"code", waiting_code(marker, "print('first')\nwait('go')\nprint('second')\n")}}.dump(),
      "body.json");
  const std::string command =
      "curl -sS -N -H 'Accept: application/x-ndjson' -H 'Content-Type: "
      "application/json' --data-binary @" +
      body.path() + " " + url(s, "/run");
  FILE* curl = popen(command.c_str(), "r");
  REQUIRE(curl != nullptr);
  std::vector<json> events;
  bool released = false;
  char line[1 << 16];
  while (fgets(line, sizeof line, curl) != nullptr) {
    events.push_back(json::parse(line, nullptr, false));
    if (!released && events.back()["type"] == "stdout") released = go(s, marker, "go");
  }
  CHECK(pclose(curl) == 0);
  CHECK(released);
  REQUIRE(events.size() == 3);
  CHECK(events[0] == json{{"type", "stdout"}, {"text", "first\n"}});
  CHECK(events[1] == json{{"type", "stdout"}, {"text", "second\n"}});
  CHECK(events[2]["result"]["stdout"] == "first\nsecond\n");
}

TEST_CASE("examples/client.py streams line by line, as a library and as a CLI", "[stream]") {
  const auto& s = server();
  const std::string examples =
      std::filesystem::path(source_path("examples/client.py")).parent_path();
  SECTION("stream(): the first line is in while the run waits for it; the time it took") {
    const std::string marker = new_marker();
    // The client itself lets the run go on once it has read the first line.
    const std::string script =
        "import glob, json, sys, time\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from client import stream\n"
        "code, marker = sys.argv[3], sys.argv[4]\n"
        "start = time.monotonic()\n"
        "events, first = [], None\n"
        "for event in stream(code, base_url=sys.argv[2]):\n"
        "    events.append(event)\n"
        "    if first is None and event['type'] == 'stdout':\n"
        "        first = time.monotonic() - start\n"
        "        for home in glob.glob('/proc/[0-9]*/root/home/user/' + marker):\n"
        "            open(home[:-len(marker)] + 'go', 'w').close()\n"
        "print(json.dumps({'types': [e['type'] for e in events], 'first_s': first,\n"
        "                  'result': events[-1]['result']}))\n";
    auto p = run_process({"/usr/bin/python3", "-c", script, examples, url(s, ""),
                          waiting_code(marker, "print('first')\nwait('go')\nprint('second')\n"),
                          marker});
    INFO(p.out << p.err);
    REQUIRE(p.exit_code == 0);
    auto out = json::parse(p.out);
    CHECK(out["types"] == json{"stdout", "stdout", "result"});
    CHECK(out["result"]["stdout"] == "first\nsecond\n");
    WARN("first line after " << out["first_s"].get<double>() * 1000 << " ms");
  }
  SECTION("Session.run(on_event=...) and Session.stream()") {
    const std::string script =
        "import sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from client import Session, PyRunnerError\n"
        "with Session(sys.argv[2]) as s:\n"
        "    seen = []\n"
        "    r = s.run('x = 2\\nprint(x)', on_event=seen.append)\n"
        "    assert [e['type'] for e in seen] == ['stdout', 'result'], seen\n"
        "    assert seen[0]['text'] == '2\\n' and r == seen[-1]['result'], (seen, r)\n"
        "    events = list(s.stream('print(x * 21)'))\n"
        "    assert events[0] == {'type': 'stdout', 'text': '42\\n'}, events\n"
        "    assert events[-1]['result']['execution_count'] == 2, events\n"
        "try:\n"
        "    list(s.stream('1'))\n"
        "except PyRunnerError as e:\n"
        "    assert e.status in (404, 410), e\n"
        "print('ok')\n";
    auto p = run_process({"/usr/bin/python3", "-c", script, examples, url(s, "")});
    INFO(p.out << p.err);
    CHECK(p.exit_code == 0);
    CHECK(p.out == "ok\n");
  }
  SECTION("--stream FILE: the program's output as its own, the summary on stderr") {
    TempFile program(
        "import sys\nprint('out 1')\nprint('err 1', file=sys.stderr)\nprint('out 2')\n", "prog.py");
    auto p = run_process({"/usr/bin/python3", source_path("examples/client.py"), "--url",
                          url(s, ""), "--stream", program.path()});
    INFO(p.out << p.err);
    CHECK(p.exit_code == 0);
    CHECK(p.out == "out 1\nout 2\n");
    CHECK(p.err.rfind("err 1\n", 0) == 0);
    CHECK(p.err.find("status:   success") != std::string::npos);
  }
}

TEST_CASE("with API keys a stream needs its key; without one the 401 is a plain answer",
          "[stream][keys]") {
  TestServer s("policy:\n  enabled: false\npython:\n  preload: []\n",
               {"PYRUNNER_API_KEYS=stream-key"});
  auto refused = post_stream(s, "/run", {{"code", "print(1)"}});
  CHECK(refused.status == 401);
  CHECK(refused.content_type == "application/json");
  Streamed st;
  EventParser parser(st, {});
  httplib::Client client("127.0.0.1", s.port());
  auto r = client.Post("/run", {{"Accept", kNdjson}, {"Authorization", "Bearer stream-key"}},
                       json{{"code", "print(1)"}}.dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  st.content_type = r->get_header_value("Content-Type");
  CHECK(st.content_type == kNdjson);
  parser.feed(r->body.data(), r->body.size());
  REQUIRE_FALSE(st.events.empty());
  CHECK(st.events.front() == json{{"type", "stdout"}, {"text", "1\n"}});
  CHECK(st.last()["result"]["stdout"] == "1\n");
}
