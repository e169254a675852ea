// `pyrunner mcp` over stdio, driven through pipes like a client that starts it: the tools with
// their descriptions, state across calls, figures, errors, files, bad input, a cancelled call
// (interrupted, the state kept), and a client that goes away mid-call (the run is killed, the
// session and its cgroup are gone, the process exits).

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/mcp_client.h"
#include "support/pool_probe.h"
#include "support/processes.h"

namespace pyrunner::testing {

/// A child of `parent` whose working directory holds `marker`: a session whose code reached
/// the point that wrote it. 0 when there is none.
pid_t session_child_with(pid_t parent, const std::string& marker) {
  for (pid_t child : children_of(parent)) {
    std::error_code ec;
    if (std::filesystem::exists("/proc/" + std::to_string(child) + "/root/home/user/" + marker, ec))
      return child;
  }
  return 0;
}

}  // namespace pyrunner::testing

namespace {

using namespace pyrunner::testing;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kLight = "python:\n  preload: [numpy, matplotlib, matplotlib.pyplot]\n";

StdioMcp& client() {
  static StdioMcp c(kLight);
  static const json init = c.initialize();
  (void)init;
  return c;
}

const json& result_of(const json& answer) {
  INFO(answer.dump().substr(0, 3000));
  REQUIRE(answer.is_object());
  REQUIRE(answer.contains("result"));
  return answer["result"];
}

}  // namespace

TEST_CASE("pyrunner mcp: initialize and the tools a model is told about", "[mcp]") {
  StdioMcp c(kLight);
  auto init = c.initialize("2025-06-18");
  INFO(init.dump() << "\n" << c.log());
  CHECK(init["result"]["protocolVersion"] == "2025-06-18");
  CHECK(init["result"]["serverInfo"]["name"] == "pyrunner");
  CHECK(init["result"]["capabilities"].contains("tools"));
  auto tools = result_of(c.request("tools/list"))["tools"];
  std::vector<std::string> names;
  for (const auto& t : tools) names.push_back(t["name"]);
  CHECK(names == std::vector<std::string>{"run_python", "reset", "list_files", "read_file"});
  const std::string description = tools[0]["description"];
  INFO(description);
  // The versions are the interpreter's own, as GET / reports them.
  auto numpy = run_process({"/usr/bin/python3", "-c", "import numpy; print(numpy.__version__)"});
  REQUIRE(numpy.exit_code == 0);
  CHECK(description.find("numpy " + numpy.out.substr(0, numpy.out.size() - 1)) !=
        std::string::npos);
  for (const char* fact : {"no network", "KeyboardInterrupt", "/home/user", "512 MB", "matplotlib",
                           "default 30, at most 300"})
    CHECK(description.find(fact) != std::string::npos);
  CHECK(tools[0]["inputSchema"]["required"] == json{"code"});
  CHECK(tools[0]["inputSchema"]["properties"]["timeout"]["maximum"] == 300);
  CHECK(tools[0]["outputSchema"]["type"] == "object");
  CHECK(c.non_json.empty());
}

TEST_CASE("pyrunner mcp: state across calls, a figure, an error, files, reset", "[mcp]") {
  auto& c = client();
  auto first = result_of(c.call("run_python", {{"code", "import numpy as np\nx = np.arange(10)"}}));
  CHECK(first["isError"] == false);
  CHECK(first["content"] == json::array({{{"type", "text"}, {"text", "(no output)"}}}));
  auto second = result_of(c.call("run_python", {{"code", "print(x.sum())\nx.mean()"}}));
  CHECK(result_text(second) == "stdout:\n45\n\nOut[2]: 4.5\n");
  CHECK(second["structuredContent"]["execution_count"] == 2);

  auto figure = result_of(
      c.call("run_python",
             {{"code", "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title('t')"}}));
  CHECK(figure["isError"] == false);
  bool image = false;
  for (const auto& item : figure["content"]) {
    if (item["type"] != "image") continue;
    image = true;
    CHECK(item["mimeType"] == "image/png");
    CHECK(item["data"].get<std::string>().rfind("iVBORw0KGgo", 0) == 0);  // PNG's signature
  }
  CHECK(image);

  auto error = result_of(c.call("run_python", {{"code", "def f():\n    return 1 / 0\nf()"}}));
  CHECK(error["isError"] == true);
  const std::string text = result_text(error);
  CHECK(text.find("exception:\nTraceback (most recent call last):") != std::string::npos);
  CHECK(text.find("ZeroDivisionError: division by zero") != std::string::npos);
  CHECK(error["structuredContent"]["status"] == "error");
  // The state survived the error.
  CHECK(result_text(result_of(c.call("run_python", {{"code", "print(len(x))"}}))) ==
        "stdout:\n10\n\n");

  auto wrote = result_of(
      c.call("run_python", {{"code",
                             "from pathlib import Path\nPath('out').mkdir(exist_ok=True)\n"
                             "Path('out/r.txt').write_text('π=3.14')\n"},
                            {"files", {{{"path", "in.csv"}, {"content", "a,b\n1,2\n"}}}}}));
  CHECK(result_text(wrote).find("out/r.txt (7 bytes, text/plain)") != std::string::npos);
  auto listing = result_of(c.call("list_files"));
  CHECK(listing["structuredContent"]["files"] ==
        json::array({{{"path", "in.csv"}, {"size", 8}, {"mime", "text/csv"}},
                     {{"path", "out/r.txt"}, {"size", 7}, {"mime", "text/plain"}}}));
  CHECK(result_of(c.call("read_file", {{"path", "out/r.txt"}}))["content"] ==
        json::array({{{"type", "text"}, {"text", "π=3.14"}}}));
  for (const auto& [path, why] : std::vector<std::pair<std::string, std::string>>{
           {"../../etc/passwd", "path: must not contain '..'"},
           {"/etc/passwd", "path: must be relative"},
           {"nope.txt", "path: no file 'nope.txt' in /home/user"}}) {
    auto refused = result_of(c.call("read_file", {{"path", path}}));
    CHECK(refused["isError"] == true);
    CHECK(result_text(refused) == why + "\n");
  }

  CHECK(result_of(c.call("reset"))["isError"] == false);
  auto after = result_of(c.call("run_python", {{"code", "x"}}));
  CHECK(after["isError"] == true);
  CHECK(result_text(after).find("NameError: name 'x' is not defined") != std::string::npos);
  CHECK(result_text(result_of(c.call("list_files"))).find("out/r.txt") == std::string::npos);
  CHECK(c.non_json.empty());
}

TEST_CASE("pyrunner mcp: wrong arguments are tool errors the model can read", "[mcp]") {
  auto& c = client();
  for (const auto& [arguments, text] : std::vector<std::pair<json, std::string>>{
           {json::object(), "code: field required"},
           {{{"code", 5}}, "code: must be a string"},
           {{{"code", ""}}, "code: must not be empty"},
           {{{"code", "1"}, {"timeout", "soon"}}, "timeout: must be an integer"},
           {{{"code", "1"}, {"timeout", 0}}, "timeout: must be between 1 and 300 (got 0)"},
           {{{"code", "1"}, {"memory_limit", 64}},
            "memory_limit: unknown argument (run_python takes code, timeout and files)"},
           {{{"code", "1"}, {"files", {{{"path", "../x"}, {"content", ""}}}}},
            "files[0].path: must not contain '..'"}}) {
    INFO(arguments.dump());
    auto r = result_of(c.call("run_python", arguments));
    CHECK(r["isError"] == true);
    CHECK(result_text(r) == text + "\n");
  }
  auto unknown = c.call("no_such_tool");
  CHECK(unknown["error"]["code"] == -32602);
  CHECK(result_of(c.call("list_files", {{"path", "x"}}))["isError"] == true);
  CHECK(c.call("run_python", json::array())["error"]["code"] == -32602);
}

TEST_CASE("pyrunner mcp: malformed and huge input is answered and the server goes on", "[mcp]") {
  StdioMcp c(std::string(kLight) + "server:\n  max_body_bytes: 65536\n");
  c.initialize();
  REQUIRE(c.write_raw("{not json\n"));
  auto parse = c.read();
  CHECK(parse["error"]["code"] == -32700);
  CHECK(parse["id"].is_null());
  REQUIRE(c.write_raw("\n   \n[]\n"));  // blank lines are skipped; an empty batch is not
  CHECK(c.read()["error"]["code"] == -32600);
  // A line far past server.max_body_bytes, in pieces: refused without being held, once.
  const std::string piece(1 << 20, 'x');
  REQUIRE(c.write_raw("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"ping\", \"p\": \""));
  for (int i = 0; i < 8; ++i) REQUIRE(c.write_raw(piece));
  REQUIRE(c.write_raw("\"}\n"));
  auto huge = c.read();
  CHECK(huge["error"]["code"] == -32600);
  CHECK(huge["error"]["message"].get<std::string>().find("larger than 65536 bytes") !=
        std::string::npos);
  // Invalid UTF-8 inside a string is not JSON.
  REQUIRE(c.write_raw("{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \"\xff\"}\n"));
  CHECK(c.read()["error"]["code"] == -32700);
  auto ping = c.request("ping");
  CHECK(ping["result"] == json::object());
  auto run = c.call("run_python", {{"code", "print('still here')"}});
  CHECK(result_text(run["result"]) == "stdout:\nstill here\n\n");
  CHECK(c.non_json.empty());
}

// Starts a call whose code writes `marker` and sleeps; returns once it is running.
pid_t start_sleeping_call(StdioMcp& c, const std::string& marker) {
  REQUIRE(c.send(
      rpc_request(7, "tools/call",
                  {{"name", "run_python"},
                   {"arguments",
                    {{"code", "open('" + marker + "', 'w').close()\nimport time\ntime.sleep(120)"},
                     {"timeout", 300}}}})));
  pid_t session = 0;
  REQUIRE(eventually([&] { return (session = session_child_with(c.pid(), marker)) > 0; }, 60s));
  return session;
}

// After `pyrunner mcp` exited: the session's process, its cgroup and anything it started are
// gone.
void check_nothing_left(const StdioMcp& c, pid_t session, const std::set<std::string>& prefixes,
                        const std::vector<std::string>& strays_before) {
  INFO(c.log());
  CHECK(c.log().find("ending its session") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists("/proc/" + std::to_string(session)));
  CHECK_FALSE(prefixes.empty());
  CHECK(remaining_run_cgroups(prefixes) == std::vector<std::string>{});
  std::vector<std::string> strays;
  eventually(
      [&] {
        strays.clear();
        for (const auto& s : stray_processes())
          if (std::find(strays_before.begin(), strays_before.end(), s) == strays_before.end())
            strays.push_back(s);
        return strays.empty();
      },
      5s);
  CHECK(strays == std::vector<std::string>{});
}

TEST_CASE("pyrunner mcp: a client that dies mid-call leaves nothing behind", "[mcp]") {
  const auto strays_before = stray_processes();
  StdioMcp c(kLight);
  c.initialize();
  const pid_t session = start_sleeping_call(c, "started");
  const auto prefixes = run_cgroup_prefixes_of(c.pid());
  CHECK(c.request("ping")["result"] == json::object());  // answered while the call runs
  c.disappear();  // both pipes closed, as when the client process is killed
  auto code = c.wait(30s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(c.log().find("its stdio client went away") != std::string::npos);
  check_nothing_left(c, session, prefixes, strays_before);
}

TEST_CASE("pyrunner mcp: SIGTERM mid-call (a client shutting it down) ends the run", "[mcp]") {
  const auto strays_before = stray_processes();
  StdioMcp c(kLight);
  c.initialize();
  const pid_t session = start_sleeping_call(c, "started");
  const auto prefixes = run_cgroup_prefixes_of(c.pid());
  c.close_stdin();  // the spec's shutdown: stdin closed first, then SIGTERM
  REQUIRE(kill(c.pid(), SIGTERM) == 0);
  auto code = c.wait(30s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  check_nothing_left(c, session, prefixes, strays_before);
}

TEST_CASE("pyrunner mcp: a script that pipes requests and closes stdin gets every answer",
          "[mcp]") {
  StdioMcp c(kLight);
  REQUIRE(c.send(rpc_request(1, "initialize", {{"protocolVersion", kMcpVersion}})));
  REQUIRE(c.send(
      rpc_request(2, "tools/call", {{"name", "run_python"}, {"arguments", {{"code", "n = 6"}}}})));
  REQUIRE(c.send(rpc_request(3, "tools/call",
                             {{"name", "run_python"}, {"arguments", {{"code", "print(n * 7)"}}}})));
  c.close_stdin();
  CHECK(c.read()["id"] == 1);
  CHECK(c.read()["id"] == 2);
  auto last = c.read();
  CHECK(last["id"] == 3);
  CHECK(result_text(last["result"]) == "stdout:\n42\n\n");
  CHECK(c.wait(30s) == std::optional<int>(0));
}

TEST_CASE("pyrunner mcp: notifications/cancelled interrupts the run, the session keeps its state",
          "[mcp]") {
  StdioMcp c(kLight);
  c.initialize();
  REQUIRE(result_of(c.call("run_python", {{"code", "y = 1"}}))["isError"] == false);
  const std::string sleeps =
      "open('busy', 'w').close()\nimport time\ntry:\n    time.sleep(120)\n"
      "except KeyboardInterrupt:\n    y = 2\n    raise";
  REQUIRE(c.send(rpc_request("long", "tools/call",
                             {{"name", "run_python"}, {"arguments", {{"code", sleeps}}}})));
  pid_t session = 0;
  REQUIRE(eventually([&] { return (session = session_child_with(c.pid(), "busy")) > 0; }, 60s));
  REQUIRE(c.send({{"jsonrpc", "2.0"},
                  {"method", "notifications/cancelled"},
                  {"params", {{"requestId", "long"}, {"reason", "the user stopped it"}}}}));
  // The cancelled call is not answered; the next one is, in the same session: the interrupted
  // code saw its KeyboardInterrupt, and the variables are there.
  auto next = c.call("run_python", {{"code", "print(y)"}});
  INFO(next.dump());
  const auto& result = result_of(next);
  CHECK(result["isError"] == false);
  CHECK(result_text(result) == "stdout:\n2\n\n");
  CHECK(result["structuredContent"]["execution_count"] == 3);
  for (const auto& other : c.others) CHECK(other["id"] != "long");
  CHECK(std::filesystem::exists("/proc/" + std::to_string(session)));  // the same process

  // Code that ignores the cancellation is killed after sessions.interrupt_grace, and with it
  // the session: the next call gets a new one, and says why.
  const std::string stubborn =
      "import time\nopen('stubborn', 'w').close()\nwhile True:\n    try:\n        time.sleep(1)\n"
      "    except KeyboardInterrupt:\n        pass";
  REQUIRE(c.send(rpc_request("stubborn", "tools/call",
                             {{"name", "run_python"}, {"arguments", {{"code", stubborn}}}})));
  REQUIRE(eventually([&] { return session_child_with(c.pid(), "stubborn") == session; }, 60s));
  REQUIRE(c.send({{"jsonrpc", "2.0"},
                  {"method", "notifications/cancelled"},
                  {"params", {{"requestId", "stubborn"}}}}));
  auto fresh =
      c.call("run_python",
             {{"code", "try:\n    y\n    print(True)\nexcept NameError:\n    print(False)"}});
  INFO(fresh.dump());
  const std::string text = result_text(result_of(fresh));
  CHECK(text.find("[a new session: the previous one ended (its code did not stop within "
                  "sessions.interrupt_grace") != std::string::npos);
  CHECK(text.find("after the client interrupted it)") != std::string::npos);
  CHECK(text.find("stdout:\nFalse\n") != std::string::npos);
  for (const auto& other : c.others) CHECK(other["id"] != "stubborn");
  CHECK(eventually([&] { return !std::filesystem::exists("/proc/" + std::to_string(session)); },
                   10s));
}
