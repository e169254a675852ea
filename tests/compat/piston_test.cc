// The Piston drop-in (v2, Python only), driven by the real piston-client package from npm
// (tests/compat/package.json, installed by `make compat-clients` under the build directory),
// and Piston's own bad-request answers.

#include "core/compat/piston.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/harness.h"
#include "support/openapi_producers.h"

namespace {

using namespace pyrunner::testing;
using nlohmann::json;

const TestServer& server() {
  // The static policy off: the client's program imports a module of its own files.
  // A small output cap, for Piston's OL status.
  static TestServer s(
      "server:\n  max_concurrent_runs: 2\npython:\n  preload: []\npolicy:\n  enabled: false\n"
      "limits:\n  max_output_bytes: 65536\n");
  return s;
}

std::string client_script() {
  return (std::filesystem::path(binary()).parent_path() / "compat-clients" / "piston_client.mjs")
      .string();
}

}  // namespace

TEST_CASE("semver ranges as Piston takes them", "[compat]") {
  using pyrunner::compat::semver_satisfies;
  for (const char* ok : {"3.11.2", "3", "3.x", "3.11", "3.11.x", "*", "^3.8", "~3.11", ">=3.8 <4",
                         "2 || 3", "=3.11.2"})
    CHECK(semver_satisfies("3.11.2", ok));
  for (const char* no : {"3.12", "2", "^4", "~3.10", "<3", ">3.11.2", "3.11.3"})
    CHECK_FALSE(semver_satisfies("3.11.2", no));
}

TEST_CASE("the real piston-client package works against pyrunner serve", "[compat][serve]") {
  REQUIRE(std::filesystem::exists(client_script()));
  auto p = run_process({"/usr/bin/env", "node", client_script(),
                        "http://127.0.0.1:" + std::to_string(server().port())});
  INFO(p.out << p.err);
  REQUIRE(p.exit_code == 0);
  auto j = json::parse(p.out);
  REQUIRE(j["runtimes"].is_array());
  REQUIRE(j["runtimes"].size() == 1);
  CHECK(j["runtimes"][0]["language"] == "python");
  CHECK(j["runtimes"][0]["version"].get<std::string>().rfind("3.", 0) == 0);
  CHECK(j["runtimes"][0]["aliases"] == json{"py", "python3"});
  CHECK(j["hello"]["language"] == "python");
  CHECK(j["hello"]["version"] == j["runtimes"][0]["version"]);
  CHECK(j["hello"]["run"]["stdout"] == "Hello World!\n");
  CHECK(j["hello"]["run"]["output"] == "Hello World!\n");
  CHECK(j["hello"]["run"]["code"] == 0);
  CHECK(j["hello"]["run"]["signal"].is_null());
  CHECK(j["hello"]["run"]["status"].is_null());
  CHECK(j["args"]["run"]["stdout"] == "['1', '2', '3']\n");  // the client's default args
  CHECK(j["stdin"]["run"]["stdout"] == "hello\n");
  CHECK(j["files"]["run"]["stdout"] == "42\n");
  CHECK(j["error"]["run"]["code"] == 1);
  CHECK(j["error"]["run"]["status"] == "RE");
  CHECK(j["error"]["run"]["stderr"].get<std::string>().find("ZeroDivisionError") !=
        std::string::npos);
  CHECK(j["timeout"]["run"]["status"] == "TO");
  CHECK(j["timeout"]["run"]["signal"] == "SIGKILL");
  // The client finds no version for an unknown language and sends none, as against Piston.
  CHECK(j["unknown"]["message"] == "version is required as a string");
}

TEST_CASE("Piston bad requests answer 400 {message} as Piston does", "[compat][serve]") {
  const auto message = [](const json& body) {
    auto r = server().post("/api/v2/execute", body.dump());
    INFO(r.status << " " << r.body);
    CHECK(r.status == 400);
    return r.json().value("message", "");
  };
  CHECK(message({{"version", "3"}, {"files", json::array()}}) ==
        "language is required as a string");
  CHECK(message({{"language", "python"}, {"files", json::array()}}) ==
        "version is required as a string");
  CHECK(message({{"language", "python"}, {"version", "3"}}) == "files is required as an array");
  CHECK(message({{"language", "python"}, {"version", "3"}, {"files", {{{"content", 1}}}}}) ==
        "files[0].content is required as a string");
  CHECK(message({{"language", "python"}, {"version", "2.7"}, {"files", {{{"content", "1"}}}}}) ==
        "python-2.7 runtime is unknown");
  CHECK(message({{"language", "py"},
                 {"version", "*"},
                 {"files", {{{"content", "1"}}}},
                 {"run_timeout", "long"}}) == "If specified, run_timeout must be a number");
  CHECK(message({{"language", "python3"},
                 {"version", "3.x"},
                 {"files", {{{"content", "1"}}}},
                 {"run_timeout", 1e9}}) ==
        "run_timeout cannot exceed the configured limit of 300000");
  auto ok = server().post("/api/v2/execute",
                          json{{"language", "py"},
                               {"version", "3"},
                               {"files", {{{"name", "a.py"}, {"content", "print(2)"}}}}}
                              .dump());
  CHECK(ok.status == 200);
  CHECK(ok.json()["run"]["stdout"] == "2\n");
}

namespace {

json execute(const json& body, int status = 200) {
  auto r = server().post("/api/v2/execute", body.dump());
  INFO(r.status << " " << r.body.substr(0, 600));
  REQUIRE(r.status == status);
  return r.json();
}

json run_of(const std::string& code, json extra = json::object()) {
  extra["language"] = "python";
  extra["version"] = "3.x";
  extra["files"] = {{{"name", "main.py"}, {"content", code}}};
  return execute(extra)["run"];
}

}  // namespace

TEST_CASE("Piston mapping: the run stage field by field", "[compat][serve]") {
  auto ok =
      run_of("import sys\nprint(sys.argv)\nsys.stderr.write('e\\n')", {{"args", {"a b", "c"}}});
  CHECK(ok["stdout"] == "['main.py', 'a b', 'c']\n");
  CHECK(ok["stderr"] == "e\n");
  CHECK(ok["output"] == "['main.py', 'a b', 'c']\ne\n");
  CHECK(ok["code"] == 0);
  CHECK(ok["signal"].is_null());
  CHECK(ok["status"].is_null());
  CHECK(ok["message"].is_null());
  CHECK(ok["cpu_time"].is_number_integer());
  CHECK(ok["wall_time"].is_number_integer());
  CHECK(ok["memory"].get<long>() > 0);
  // Piston ends stdin with a newline.
  CHECK(run_of("import sys\nprint(repr(sys.stdin.read()))", {{"stdin", "abc"}})["stdout"] ==
        "'abc\\n'\n");
  auto exited = run_of("import sys\nsys.exit(3)");
  CHECK(exited["code"] == 3);
  CHECK(exited["status"] == "RE");
  CHECK(exited["message"] == "Exited with error status 3");
  auto killed = run_of("import ctypes\nctypes.string_at(0)");
  CHECK(killed["code"].is_null());
  CHECK(killed["signal"] == "SIGSEGV");
  CHECK(killed["status"] == "SG");
  CHECK(killed["message"] == "Caught fatal signal 11");
  auto memory = run_of("x = bytearray(300 * 1024 * 1024)", {{"run_memory_limit", 100 << 20}});
  CHECK(memory["status"] == "RE");
  CHECK(memory["message"].get<std::string>().rfind("Memory limit of 100 MB exceeded", 0) == 0);
  auto flood = run_of("print('x' * 100000)");
  CHECK(flood["status"] == "OL");
  CHECK(flood["message"] == "stdout length exceeded");
  CHECK(flood["signal"] == "SIGKILL");
  CHECK(flood["stdout"].get<std::string>().size() == 65536);
  // Every file is written beside the program: subdirectories, base64 and hex; the first utf8
  // file is the program, whatever its place; a leading '/' stays inside, as Piston joins it.
  auto files = execute({{"language", "py"},
                        {"version", "*"},
                        {"files",
                         {{{"name", "data.bin"}, {"content", "AAH/"}, {"encoding", "base64"}},
                          {{"name", "main.py"},
                           {"content",
                            "import pkg.mod\nprint(pkg.mod.X, open('data.bin', 'rb').read(), "
                            "open('h.txt').read(), open('abs/x').read())"}},
                          {{"name", "pkg/mod.py"}, {"content", "X = 5\n"}},
                          {{"name", "h.txt"}, {"content", "6869"}, {"encoding", "hex"}},
                          {{"name", "/abs/x"}, {"content", "y"}}}}})["run"];
  CHECK(files["stdout"] == "5 b'\\x00\\x01\\xff' hi y\n");
  // The program's own name appears in its tracebacks, lines unchanged by the arguments.
  auto traced = run_of("x = 1\n1/0", {{"args", {"z"}}});
  CHECK(traced["stderr"].get<std::string>().find("File \"main.py\", line 2") != std::string::npos);
}

TEST_CASE("Piston hostile input: 400 {message}, the server unharmed", "[compat][serve]") {
  const auto message = [](const std::string& body) {
    auto r = server().post("/api/v2/execute", body);
    INFO(r.status << " " << r.body.substr(0, 300));
    CHECK(r.status == 400);
    return r.json().value("message", "");
  };
  const auto with = [](json extra) {
    extra["language"] = "python";
    extra["version"] = "3";
    if (!extra.contains("files")) extra["files"] = {{{"content", "print(1)"}}};
    return extra.dump();
  };
  CHECK(message("{\"language\": ").rfind("the body is not valid JSON", 0) == 0);
  CHECK(message("[1, 2]") == "language is required as a string");
  CHECK(message(with({{"args", "a b"}})) == "args must be an array of strings");
  CHECK(message(with({{"args", {1, 2}}})) == "args must be an array of strings");
  CHECK(message(with({{"stdin", 5}})) == "stdin must be a string");
  CHECK(message(with({{"run_timeout", -5}})) == "run_timeout must be non-negative");
  CHECK(message(with({{"files", json::array()}})) ==
        "files must include at least one utf8 encoded file");
  CHECK(message(
            with({{"files", {{{"content", "print(1)"}}, {{"name", "../x"}, {"content", "1"}}}}})) ==
        "files[1].name \"../x\": must not contain '..'");
  CHECK(message(with({{"files",
                       {{{"name", "main.py"}, {"content", "print(1)"}},
                        {{"name", "a"}, {"content", "1"}},
                        {{"name", "a"}, {"content", "2"}}}}})) ==
        "files[2].name: duplicate of files[1].name");
  CHECK(message(with({{"files",
                       {{{"content", "print(1)"}},
                        {{"name", "b"}, {"content", "zz"}, {"encoding", "hex"}}}}})) ==
        "files[1].content is not valid hex");
  CHECK(message(with({{"files", {{{"content", std::string((1 << 20) + 1, 'x')}}}}}))
            .rfind("files[0].content: must be at most 1048576 bytes", 0) == 0);
  auto big = server().post("/api/v2/execute", std::string((10 << 20) + 1, 'a'));
  CHECK(big.status == 413);
  CHECK(big.json().contains("message"));
  // Base64 is read as Node reads it: leniently.
  auto lenient = execute({{"language", "python"},
                          {"version", "3"},
                          {"files",
                           {{{"content", "print(open('d').read())"}},
                            {{"name", "d"}, {"content", "aGk"}, {"encoding", "base64"}}}}});
  CHECK(lenient["run"]["stdout"] == "hi\n");
  CHECK(run_of("print(1)")["stdout"] == "1\n");
}

namespace {

const std::string kExecute =
    R"J({"language": "python", "version": "3", "files": [{"content": "print(1)"}]})J";

// A server of its own whose one run slot is held, for the overload answers.
HttpResponse overloaded_execute(const std::string& server_config) {
  TestServer s("python:\n  preload: []\nserver:\n  max_concurrent_runs: 1\n" + server_config);
  HeldRun held(s);
  REQUIRE(held.running());
  return s.post("/api/v2/execute", kExecute);
}

const RegisterProducers kPistonProducers({
    {"POST /api/v2/execute 413",
     [](const TestServer& s) {
       return s.post("/api/v2/execute", std::string((10 << 20) + 1, 'a'));
     }},
    {"POST /api/v2/execute 429",
     [](const TestServer&) { return overloaded_execute("  max_queue: 0\n"); }},
    {"POST /api/v2/execute 503",
     [](const TestServer&) { return overloaded_execute("  max_queue: 1\n  queue_timeout: 1\n"); }},
    {"GET /api/v2/runtimes 200", [](const TestServer& s) { return s.get("/api/v2/runtimes"); }},
    {"POST /api/v2/execute 200",
     [](const TestServer& s) { return s.post("/api/v2/execute", kExecute); }},
    {"POST /api/v2/execute 400",
     [](const TestServer& s) { return s.post("/api/v2/execute", "{}"); }},
});

}  // namespace
