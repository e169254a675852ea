// POST /grade, POST /batch and POST /run with expected_output, against the real server.

#include <catch2/catch.hpp>

#include "support/harness.h"
#include "support/openapi_producers.h"

namespace {

using namespace pyrunner::testing;
using nlohmann::json;

// Two slots, so that a grade's tests run two at a time; no preload (the solutions here need no
// library): the server is ready in a fraction of a second.
constexpr const char* kGradeConfig =
    "server:\n  max_concurrent_runs: 2\n  max_tests: 8\n  max_batch: 4\n"
    "python:\n  preload: []\n";

const TestServer& server() {
  static TestServer s(kGradeConfig);
  return s;
}

json post_json(const TestServer& s, const std::string& path, const json& body, int status = 200) {
  auto r = s.post(path, body.dump());
  INFO(path << " -> " << r.status << " " << r.body.substr(0, 600));
  REQUIRE(r.status == status);
  return r.json();
}

const char* kSum = "a, b = map(int, input().split())\nprint(a + b)";

}  // namespace

TEST_CASE("POST /grade: the issue's example, test by test", "[grading][serve]") {
  auto j = post_json(
      server(), "/grade",
      {{"code", kSum},
       {"tests",
        {{{"name", "small"}, {"stdin", "1 2\n"}, {"expected_output", "3\n"}},
         {{"name", "big"}, {"stdin", "1000000000 1000000000\n"}, {"expected_output", "2000000000"}},
         {{"name", "wrong"}, {"stdin", "2 2\n"}, {"expected_output", "5\n"}}}}});
  CHECK(j["verdict"] == "wrong_answer");
  CHECK(j["passed"] == 2);
  CHECK(j["failed"] == 1);
  CHECK(j["total"] == 3);
  CHECK(j["skipped"] == 0);
  REQUIRE(j["tests"].size() == 3);
  CHECK(j["tests"][0]["name"] == "small");
  CHECK(j["tests"][0]["verdict"] == "accepted");
  CHECK(j["tests"][0]["status"] == "success");
  CHECK(j["tests"][0]["stdout"] == "3\n");
  CHECK(j["tests"][0]["expected_output"] == "3\n");
  CHECK(j["tests"][0]["diff"].is_null());
  CHECK(j["tests"][0]["exit_code"] == 0);
  CHECK(j["tests"][0]["execution_time"].is_number());
  CHECK(j["tests"][0]["memory_used"].get<double>() > 0);
  CHECK(j["tests"][1]["verdict"] == "accepted");  // no trailing newline expected: trim
  CHECK(j["tests"][2]["verdict"] == "wrong_answer");
  CHECK(j["tests"][2]["diff"] == json{{"line", 1}, {"expected", "5"}, {"got", "4"}});
  for (const char* key : {"name", "verdict", "status", "stdout", "stderr", "expected_output",
                          "execution_time", "memory_used", "error", "exit_code", "diff"})
    CHECK(j["tests"][2].contains(key));
}

TEST_CASE("POST /grade: every verdict, per-test limits, the first failure decides",
          "[grading][serve]") {
  const char* code =
      "import time\n"
      "what = input()\n"
      "if what == 'sleep': time.sleep(30)\n"
      "if what == 'grow': x = bytearray(400 * 1024 * 1024)\n"
      "if what == 'raise': raise ValueError('no')\n"
      "print(what)\n";
  auto j = post_json(server(), "/grade",
                     {{"code", code},
                      {"timeout", 20},
                      {"tests",
                       {{{"stdin", "ok"}, {"expected_output", "ok"}},
                        {{"stdin", "sleep"}, {"expected_output", "x"}, {"timeout", 1}},
                        {{"stdin", "grow"}, {"expected_output", "x"}, {"memory_limit", 64}},
                        {{"stdin", "raise"}, {"expected_output", "x"}},
                        {{"stdin", "other"}, {"expected_output", "x"}}}}});
  REQUIRE(j["tests"].size() == 5);
  CHECK(j["tests"][0]["verdict"] == "accepted");
  CHECK(j["tests"][1]["verdict"] == "timeout");
  CHECK(j["tests"][1]["status"] == "timeout");
  CHECK(j["tests"][2]["verdict"] == "memory_exceeded");
  CHECK(j["tests"][3]["verdict"] == "error");
  CHECK(j["tests"][3]["stderr"].get<std::string>().find("ValueError: no") != std::string::npos);
  CHECK(j["tests"][4]["verdict"] == "wrong_answer");
  CHECK(j["verdict"] == "timeout");  // the first failing test's
  CHECK(j["passed"] == 1);
  CHECK(j["failed"] == 4);
}

TEST_CASE("POST /grade: stop_on_failure reports up to the first failure", "[grading][serve]") {
  json tests = json::array();
  for (int i = 0; i < 6; ++i)
    tests.push_back(
        {{"stdin", std::to_string(i)}, {"expected_output", i == 2 ? "x" : std::to_string(i)}});
  auto j = post_json(server(), "/grade",
                     {{"code", "print(input())"}, {"stop_on_failure", true}, {"tests", tests}});
  CHECK(j["verdict"] == "wrong_answer");
  CHECK(j["passed"] == 2);
  CHECK(j["failed"] == 1);
  CHECK(j["total"] == 6);
  CHECK(j["skipped"] == 3);
  REQUIRE(j["tests"].size() == 3);
  CHECK(j["tests"][2]["name"] == "3");
  auto all = post_json(server(), "/grade", {{"code", "print(input())"}, {"tests", tests}});
  CHECK(all["tests"].size() == 6);
  CHECK(all["skipped"] == 0);
}

TEST_CASE("POST /grade: files go to every test; compare modes", "[grading][serve]") {
  auto j = post_json(server(), "/grade",
                     {{"code", "n = int(input())\nprint(open('data/base.txt').read().strip() * n)"},
                      {"files", {{{"path", "data/base.txt"}, {"content", "ab\n"}}}},
                      {"tests",
                       {{{"stdin", "1"}, {"expected_output", "ab"}},
                        {{"stdin", "2"}, {"expected_output", "abab"}}}}});
  CHECK(j["verdict"] == "accepted");
  CHECK(j["passed"] == 2);

  const auto verdict = [](const char* code, const char* expected, json extra) {
    extra["code"] = code;
    extra["tests"] = {{{"expected_output", expected}}};
    return post_json(server(), "/grade", extra)["verdict"].get<std::string>();
  };
  CHECK(verdict("print(3.1415927)", "3.14159265", {{"compare", "numbers"}}) == "accepted");
  CHECK(verdict("print(3.2)", "3.14159265", {{"compare", "numbers"}}) == "wrong_answer");
  CHECK(verdict("print(3.2)", "3.1", {{"compare", "numbers"}, {"tolerance", 0.2}}) == "accepted");
  CHECK(verdict("print('1  2\\n3')", "1 2 3", {{"compare", "tokens"}}) == "accepted");
  CHECK(verdict("print(1)", "1", {{"compare", "exact"}}) == "wrong_answer");
  CHECK(verdict("print(1)", "1\n", {{"compare", "exact"}}) == "accepted");
  CHECK(verdict("print(1, end='  \\n\\n')", "1", json::object()) == "accepted");
}

TEST_CASE("POST /grade: output that is not UTF-8 is compared byte-wise", "[grading][serve]") {
  auto j = post_json(server(), "/grade",
                     {{"code", "import sys\nsys.stdout.buffer.write(b'caf\\xe9\\n')"},
                      {"tests", {{{"expected_output", "caf\u00e9\n"}}}}});
  REQUIRE(j["tests"].size() == 1);
  CHECK(j["tests"][0]["verdict"] == "wrong_answer");  // é in UTF-8 is not the byte 0xE9
  CHECK(j["tests"][0]["diff"]["got"] == "caf\ufffd");
  CHECK(j["tests"][0]["stdout"] == "caf\ufffd\n");
}

TEST_CASE("POST /run with expected_output adds verdict and diff", "[grading][serve]") {
  auto ok = post_json(server(), "/run", {{"code", "print(3)"}, {"expected_output", "3"}});
  CHECK(ok["status"] == "success");
  CHECK(ok["verdict"] == "accepted");
  CHECK(ok["diff"].is_null());
  auto wrong = post_json(
      server(), "/run",
      {{"code", "print(1)\nprint(2)"}, {"expected_output", "1\n3\n"}, {"compare", "exact"}});
  CHECK(wrong["verdict"] == "wrong_answer");
  CHECK(wrong["diff"] == json{{"line", 2}, {"expected", "3\n"}, {"got", "2\n"}});
  auto error = post_json(server(), "/run", {{"code", "1/0"}, {"expected_output", ""}});
  CHECK(error["verdict"] == "error");
  auto plain = post_json(server(), "/run", {{"code", "print(3)"}});
  CHECK_FALSE(plain.contains("verdict"));
  CHECK_FALSE(plain.contains("diff"));
  auto bad = server().post("/run", json{{"code", "print(3)"}, {"expected_output", 3}}.dump());
  CHECK(bad.status == 422);
  CHECK(bad.json()["detail"] == "expected_output: must be a string");
  bad = server().post("/run", json{{"code", "print(3)"}, {"compare", "close"}}.dump());
  CHECK(bad.status == 422);
}

TEST_CASE("POST /batch: each item its own result, invalid ones their own detail",
          "[grading][serve]") {
  auto j = post_json(server(), "/batch",
                     {{"runs",
                       {{{"code", "print(1)"}},
                        {{"code", "1/0"}},
                        {{"code", ""}},
                        {{"code", "print(4)"}, {"expected_output", "4"}}}}});
  REQUIRE(j["results"].size() == 4);
  CHECK(j["results"][0]["status"] == "success");
  CHECK(j["results"][0]["stdout"] == "1\n");
  CHECK(j["results"][1]["status"] == "error");
  CHECK(j["results"][1]["exception"]["name"] == "ZeroDivisionError");
  CHECK(j["results"][2] == json{{"detail", "code: must not be empty"}});
  CHECK(j["results"][3]["verdict"] == "accepted");
}

TEST_CASE("bad grade and batch requests are 4xx naming the field; the server goes on",
          "[grading][serve]") {
  const auto detail = [](const std::string& path, const std::string& body, int status) {
    auto r = server().post(path, body);
    INFO(path << " " << body.substr(0, 100) << " -> " << r.status << " " << r.body);
    CHECK(r.status == status);
    return r.json().value("detail", "");
  };
  CHECK(detail("/grade", "{\"code\": ", 400).rfind("body: invalid JSON", 0) == 0);
  CHECK(detail("/grade", "[]", 422) == "body: must be a JSON object");
  CHECK(detail("/grade", json{{"code", "print(1)"}, {"tests", {{{"stdin", "1"}}}}}.dump(), 422) ==
        "tests[0].expected_output: field required");
  json nine = json::array();
  for (int i = 0; i < 9; ++i) nine.push_back({{"expected_output", "1"}});
  CHECK(detail("/grade", json{{"code", "print(1)"}, {"tests", nine}}.dump(), 422) ==
        "tests: at most 8 tests, server.max_tests (got 9)");
  CHECK(detail("/grade",
               json{{"code", "print(1)"},
                    {"tests", {{{"expected_output", std::string((1 << 20) + 1, 'x')}}}}}
                   .dump(),
               422)
            .rfind("tests[0].expected_output: must be at most 1048576 bytes", 0) == 0);
  json five = json::array();
  for (int i = 0; i < 5; ++i) five.push_back({{"code", "print(1)"}});
  CHECK(detail("/batch", json{{"runs", five}}.dump(), 422) ==
        "runs: at most 4 runs, server.max_batch (got 5)");
  CHECK(detail("/batch", "{\"runs\": 1}", 422) == "runs: must be a list");
  auto still = post_json(server(), "/run", {{"code", "print(1)"}});
  CHECK(still["stdout"] == "1\n");
}

// How the OpenAPI test (tests/http/serve_test.cc) makes /grade and /batch give each status.
namespace {

const json kOneTest = {{"code", "print(1)"}, {"tests", {{{"expected_output", "1"}}}}};

HttpResponse overloaded_grade(const std::string& config) {
  TestServer s(config + "python:\n  preload: []\n");
  HeldRun held(s);
  REQUIRE(held.running());
  return s.post("/grade", kOneTest.dump());
}

const RegisterProducers kProducers({
    {"POST /grade 200", [](const TestServer& s) { return s.post("/grade", kOneTest.dump()); }},
    {"POST /grade 400", [](const TestServer& s) { return s.post("/grade", "{\"code\""); }},
    {"POST /grade 413",
     [](const TestServer& s) { return s.post("/grade", std::string((10 << 20) + 1, 'a')); }},
    {"POST /grade 422", [](const TestServer& s) { return s.post("/grade", "{\"code\": \"x\"}"); }},
    {"POST /grade 429",
     [](const TestServer&) {
       return overloaded_grade("server:\n  max_concurrent_runs: 1\n  max_queue: 0\n");
     }},
    {"POST /grade 503",
     [](const TestServer&) {
       return overloaded_grade(
           "server:\n  max_concurrent_runs: 1\n  max_queue: 1\n  queue_timeout: 1\n");
     }},
    {"POST /batch 200",
     [](const TestServer& s) {
       return s.post("/batch", "{\"runs\": [{\"code\": \"print(1)\"}]}");
     }},
    {"POST /batch 400", [](const TestServer& s) { return s.post("/batch", "{"); }},
    {"POST /batch 413",
     [](const TestServer& s) { return s.post("/batch", std::string((10 << 20) + 1, 'a')); }},
    {"POST /batch 422", [](const TestServer& s) { return s.post("/batch", "{}"); }},
});

}  // namespace
