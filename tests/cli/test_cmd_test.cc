// `pyrunner test`: the real binary against case directories and case files; its table, --json,
// the JUnit file read back by a real JUnit consumer (Debian's python3-junitparser), and its
// exit codes for malformed cases.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include "support/harness.h"

namespace {

using namespace pyrunner::testing;
using nlohmann::json;
namespace fs = std::filesystem;

const char* kSum = "a, b = map(int, input().split())\nprint(a + b)\n";

// A directory of files, removed with the object.
class CaseDir {
 public:
  using Files = std::vector<std::pair<std::string, std::string>>;
  explicit CaseDir(const Files& files) {
    char tmpl[] = "/tmp/pyrunner-cases-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    for (const auto& [name, content] : files) write(name, content);
  }
  ~CaseDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name = "") const {
    return name.empty() ? dir_ : dir_ + "/" + name;
  }
  void write(const std::string& name, const std::string& content) const {
    fs::create_directories(fs::path(path(name)).parent_path());
    std::ofstream(path(name), std::ios::binary) << content;
  }

 private:
  std::string dir_;
};

ProcessResult pyrunner_test(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {binary(), "test"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv);
}

// The JUnit file as python3-junitparser reads it: suites, cases, each case's result.
json junit_as_read(const std::string& path) {
  const char* reader = R"(
import json, sys
from junitparser import JUnitXml, Failure, Error, Skipped
xml = JUnitXml.fromfile(sys.argv[1])
suites = []
for suite in xml:
    cases = []
    for case in suite:
        results = [{"kind": type(r).__name__, "type": r.type, "message": r.message,
                    "text": r.text} for r in case.result]
        cases.append({"name": case.name, "classname": case.classname, "time": case.time,
                      "results": results, "system_out": case.system_out})
    suites.append({"name": suite.name, "tests": suite.tests, "failures": suite.failures,
                   "errors": suite.errors, "skipped": suite.skipped, "cases": cases})
print(json.dumps(suites))
)";
  auto p = run_process({"/usr/bin/python3", "-c", reader, path});
  INFO(p.err);
  REQUIRE(p.exit_code == 0);
  return json::parse(p.out);
}

}  // namespace

TEST_CASE("pyrunner test: a case directory, its table and a JUnit file a consumer accepts",
          "[cli][grading]") {
  CaseDir cases(CaseDir::Files{{"1.in", "1 2\n"},
                               {"1.out", "3\n"},
                               {"2.in", "2 2\n"},
                               {"2.ans", "5\n"},
                               {"10.in", "5 5\n"},
                               {"10.out", "10"},
                               {"notes.txt", "ignored"}});
  CaseDir work(CaseDir::Files{{"solution.py", kSum}});
  const std::string report = work.path("report.xml");
  auto p = pyrunner_test({work.path("solution.py"), cases.path(), "--junit", report});
  INFO(p.out << p.err);
  CHECK(p.exit_code == 1);  // one case is not accepted
  // The table: one line per case in natural order, the diff of the failing one, a summary.
  const auto first = p.out.find("\n1 "), second = p.out.find("\n2 "), tenth = p.out.find("\n10 ");
  CHECK(first != std::string::npos);
  CHECK(second != std::string::npos);
  CHECK(tenth != std::string::npos);
  CHECK(first < second);
  CHECK(second < tenth);
  CHECK(p.out.find("wrong_answer") != std::string::npos);
  CHECK(p.out.find("line 1: expected '5', got '4'") != std::string::npos);
  CHECK(p.out.find("2 passed, 1 failed of 3: wrong_answer") != std::string::npos);
  CHECK(p.out.find("\033[") == std::string::npos);  // no colours when stdout is not a terminal

  auto suites = junit_as_read(report);
  REQUIRE(suites.size() == 1);
  const auto& suite = suites[0];
  CHECK(suite["name"] == "solution.py");
  CHECK(suite["tests"] == 3);
  CHECK(suite["failures"] == 1);
  CHECK(suite["errors"] == 0);
  REQUIRE(suite["cases"].size() == 3);
  CHECK(suite["cases"][0]["name"] == "1");
  CHECK(suite["cases"][0]["results"].empty());  // passed
  CHECK(suite["cases"][1]["name"] == "2");
  REQUIRE(suite["cases"][1]["results"].size() == 1);
  const auto& failure = suite["cases"][1]["results"][0];
  CHECK(failure["kind"] == "Failure");
  CHECK(failure["type"] == "wrong_answer");
  CHECK(failure["message"] == "wrong_answer: line 1: expected '5', got '4'");
  CHECK(suite["cases"][1]["system_out"] == "4\n");
  CHECK(suite["cases"][2]["name"] == "10");
  CHECK(suite["cases"][2]["results"].empty());
}

TEST_CASE("pyrunner test: a YAML case file, --json, --compare, per-case limits", "[cli][grading]") {
  CaseDir work(CaseDir::Files{{"solution.py",
                               "import time\nx = float(input())\nif x < 0: time.sleep(30)\n"
                               "if x == 0: raise SystemExit(3)\nprint(x / 3)\n"},
                              {"cases.yaml",
                               "- name: third\n  stdin: \"1\\n\"\n  expected_output: 0.3333333\n"
                               "- name: whole\n  stdin: '3'\n  expected_output: |\n    1\n"
                               "- name: slow\n  stdin: '-1'\n  expected_output: '0'\n  timeout: 1\n"
                               "- name: exits\n  stdin: '0'\n  expected_output: '0'\n"}});
  auto p = pyrunner_test(
      {work.path("solution.py"), work.path("cases.yaml"), "--json", "--compare", "numbers"});
  INFO(p.out << p.err);
  CHECK(p.exit_code == 1);
  auto j = json::parse(p.out);
  CHECK(j["verdict"] == "timeout");
  CHECK(j["passed"] == 2);
  REQUIRE(j["tests"].size() == 4);
  CHECK(j["tests"][0]["name"] == "third");
  CHECK(j["tests"][0]["verdict"] == "accepted");
  CHECK(j["tests"][1]["verdict"] == "accepted");  // 1.0 and 1 are equal numbers
  CHECK(j["tests"][2]["verdict"] == "timeout");
  CHECK(j["tests"][3]["verdict"] == "error");
  CHECK(j["tests"][3]["exit_code"] == 3);

  work.write(
      "all.json",
      R"([{"stdin": "6", "expected_output": "2.0"}, {"stdin": "9", "expected_output": "3.0\n"}])");
  auto ok = pyrunner_test({work.path("solution.py"), work.path("all.json"), "--json"});
  INFO(ok.out << ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(json::parse(ok.out)["verdict"] == "accepted");
}

TEST_CASE("pyrunner test: output that is not UTF-8 compares byte-wise", "[cli][grading]") {
  CaseDir cases(CaseDir::Files{{"a.in", ""}, {"a.out", "caf\xe9\n"}});
  CaseDir work(
      CaseDir::Files{{"solution.py", "import sys\nsys.stdout.buffer.write(b'caf\\xe9\\n')\n"}});
  const std::string report = work.path("r.xml");
  auto p = pyrunner_test({work.path("solution.py"), cases.path(), "--json", "--junit", report});
  INFO(p.out << p.err);
  CHECK(p.exit_code == 0);
  auto j = json::parse(p.out);
  CHECK(j["tests"][0]["verdict"] == "accepted");
  CHECK(j["tests"][0]["stdout"] == "caf\ufffd\n");  // shown with a replacement character
  auto suites = junit_as_read(report);
  CHECK(suites[0]["cases"][0]["system_out"] == "caf\ufffd\n");
}

TEST_CASE("pyrunner test: enough cases get a warm zygote with the solution's imports",
          "[cli][grading]") {
  // Whether numpy is already imported when the code starts: only in a warm zygote's child.
  CaseDir work(CaseDir::Files{
      {"solution.py", "import sys\nprint('numpy' in sys.modules)\nimport numpy\n"},
      {"one.yaml", "- expected_output: 'False'\n"},
      {"three.yaml",
       "- expected_output: 'True'\n- expected_output: 'True'\n- expected_output: 'True'\n"}});
  auto cold = pyrunner_test({work.path("solution.py"), work.path("one.yaml"), "--json"});
  INFO(cold.out << cold.err);
  CHECK(cold.exit_code == 0);
  auto warm = pyrunner_test({work.path("solution.py"), work.path("three.yaml"), "--json"});
  INFO(warm.out << warm.err);
  CHECK(warm.exit_code == 0);
  CHECK(json::parse(warm.out)["passed"] == 3);
}

TEST_CASE("pyrunner test: malformed cases exit 64+ with the file, the line and the reason",
          "[cli][grading]") {
  CaseDir work(CaseDir::Files{{"solution.py", "print(1)\n"},
                              {"missing.yaml", "- expected_output: '1'\n- name: two\n  stdin: x\n"},
                              {"typo.yaml", "- name: a\n  expected: '1'\n"},
                              {"broken.yaml", "- expected_output: '1'\n- [unclosed\n"},
                              {"limit.yaml", "- expected_output: '1'\n  timeout: 0\n"},
                              {"list.yaml", "expected_output: 1\n"},
                              {"nested.yaml", "- expected_output:\n    a: 1\n"}});
  CaseDir lonely(CaseDir::Files{{"3.in", "x"}});
  const auto fails = [&](const std::vector<std::string>& args, int code, const std::string& text) {
    auto p = pyrunner_test(args);
    INFO(p.out << p.err);
    CHECK(p.exit_code == code);
    CHECK(p.err.find(text) != std::string::npos);
    CHECK(p.out.empty());
  };
  const std::string s = work.path("solution.py");
  fails({s, work.path("missing.yaml")}, 65,
        work.path("missing.yaml") + ":2: case 2: expected_output: field required");
  fails({s, work.path("typo.yaml")}, 65,
        work.path("typo.yaml") + ":2: case 1: expected: unknown key");
  fails({s, work.path("broken.yaml")}, 65, work.path("broken.yaml") + ":");
  fails({s, work.path("limit.yaml")}, 65,
        work.path("limit.yaml") + ":2: case 1: timeout: must be between 1 and 300 (got 0)");
  fails({s, work.path("list.yaml")}, 65, ":1: must be a list of cases");
  fails({s, work.path("nested.yaml")}, 65, "case 1: expected_output: must be text, not a mapping");
  fails({s, lonely.path()}, 65, lonely.path("3.in") + ": no 3.out or 3.ans beside it");
  fails({s, work.path("nothing.yaml")}, 66, "cannot read cases");
  fails({work.path("absent.py"), work.path("missing.yaml")}, 66, "cannot read the solution");
  fails({s, work.path("typo.yaml"), "--compare", "fuzzy"}, 64, "--compare");
  fails({s, work.path("typo.yaml"), "--timeout", "0"}, 65, "timeout: must be between 1 and 300");
  fails({s}, 64, "cases");
}
