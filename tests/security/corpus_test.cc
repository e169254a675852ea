// The security corpus: every attack program in tests/security/*.py, run with the static
// policy off (the sandbox alone must hold), through `pyrunner run` and through `serve` with
// the warm pool on. The test binary itself runs inside a throwaway PID namespace (make test).

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "support/harness.h"
#include "support/processes.h"

namespace {

using namespace pyrunner::testing;

constexpr const char* kPolicyOff = "policy:\n  enabled: false\n";
constexpr const char* kSecret = "PYRUNNER_TEST_SECRET=hunter2-canary";

struct Attack {
  std::string name, code, category, expect_status;
  int timeout = 10, memory = 256, runs = 1;
  bool runs_differ = false;
  bool expect_truncated = false;
  bool concurrent_activity = false;
};

std::vector<Attack> load_corpus() {
  std::vector<Attack> attacks;
  for (const auto& entry : std::filesystem::directory_iterator(source_path("tests/security"))) {
    if (entry.path().extension() != ".py") continue;
    Attack a;
    a.name = entry.path().filename();
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    a.code = text.str();
    std::istringstream lines(a.code);
    std::string line;
    while (std::getline(lines, line) && line.rfind("#", 0) == 0) {
      auto colon = line.find(": ");
      if (colon == std::string::npos || colon < 2 || line.find(' ', 2) < colon) continue;
      std::string key = line.substr(2, colon - 2), value = line.substr(colon + 2);
      if (key == "category") a.category = value;
      if (key == "expect-status") a.expect_status = value;
      if (key == "timeout") a.timeout = std::stoi(value);
      if (key == "memory") a.memory = std::stoi(value);
      if (key == "runs") a.runs = std::stoi(value);
      if (key == "runs-differ") a.runs_differ = value == "true";
      if (key == "expect-truncated") a.expect_truncated = value == "true";
      if (key == "concurrent-activity") a.concurrent_activity = value == "true";
    }
    attacks.push_back(a);
  }
  std::sort(attacks.begin(), attacks.end(),
            [](const Attack& x, const Attack& y) { return x.name < y.name; });
  return attacks;
}

void check_verdict(const Attack& a, const nlohmann::json& result) {
  INFO(a.name << "\n" << result.dump(2));
  REQUIRE(result.is_object());
  CHECK(result["status"] == a.expect_status);
  const std::string out = result["stdout"];
  CHECK(out.find("ESCAPED") == std::string::npos);
  CHECK(out.find("hunter2-canary") == std::string::npos);
  CHECK(result["stderr"].get<std::string>().find("hunter2-canary") == std::string::npos);
  if (a.expect_status == "success") CHECK(out.find("BLOCKED") != std::string::npos);
  if (a.expect_truncated) CHECK(result["truncated"] == true);
}

// Keeps the host busy with the files runs share (the interpreter and its libraries) while an
// attack that listens for other processes' activity runs: without it such a test cannot fail.
class BusyHost {
 public:
  explicit BusyHost(bool active) {
    if (!active) return;
    thread_ = std::thread([this] {
      while (!stop_) {
        run_process({"/usr/bin/python3", "-c", "import os, json"});
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  ~BusyHost() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Stray processes disappear as soon as the run's PID 1 is gone; through serve that happens on
// the reaper thread just after the answer, so allow it a bounded moment.
std::vector<std::string> strays_after_run() {
  std::vector<std::string> strays;
  eventually([&] { return (strays = stray_processes()).empty(); }, std::chrono::seconds(2));
  return strays;
}

}  // namespace

TEST_CASE("the corpus covers every attack category", "[security]") {
  auto corpus = load_corpus();
  CHECK(corpus.size() >= 25);
  std::set<std::string> categories;
  for (const auto& a : corpus) {
    INFO(a.name);
    CHECK_FALSE(a.expect_status.empty());
    categories.insert(a.category);
  }
  for (const char* c :
       {"host-files", "environment", "network", "writes", "signals", "syscalls", "abi32",
        "fork-bomb", "memory-bomb", "disk-fill", "daemons", "leakage", "fds", "limits"}) {
    INFO(c);
    CHECK(categories.count(c) == 1);
  }
}

TEST_CASE("no escape through `pyrunner run` with the policy off", "[security]") {
  auto config = config_file(kPolicyOff);
  const auto cgroups_before = run_cgroups();
  for (const auto& a : load_corpus()) {
    std::set<std::string> outputs;
    BusyHost busy(a.concurrent_activity);
    for (int i = 0; i < a.runs; ++i) {
      auto run = run_code(a.code,
                          {"--config", config.path(), "--timeout", std::to_string(a.timeout),
                           "--memory-limit", std::to_string(a.memory)},
                          {kSecret});
      INFO(a.name << " run " << i << " exit " << run.process.exit_code << " stderr "
                  << run.process.err);
      check_verdict(a, run.result);
      if (run.result.is_object()) outputs.insert(run.result["stdout"].get<std::string>());
      // The run's processes are gone once `pyrunner run` has returned.
      CHECK(stray_processes().empty());
    }
    if (a.runs_differ) CHECK(outputs.size() == static_cast<size_t>(a.runs));
  }
  CHECK(leaked_run_cgroups(cgroups_before) == std::vector<std::string>{});
}

TEST_CASE("no escape through `serve` with the warm pool on", "[security][serve]") {
  const auto cgroups_before = run_cgroups();
  TestServer server(kPolicyOff, {kSecret});
  for (const auto& a : load_corpus()) {
    std::set<std::string> outputs;
    BusyHost busy(a.concurrent_activity);
    for (int i = 0; i < a.runs; ++i) {
      auto response = server.run(a.code, {{"timeout", a.timeout}, {"memory_limit", a.memory}});
      INFO(a.name << " run " << i << " HTTP " << response.status);
      REQUIRE(response.status == 200);
      check_verdict(a, response.json());
      outputs.insert(response.json()["stdout"].get<std::string>());
      CHECK(strays_after_run().empty());
    }
    if (a.runs_differ) CHECK(outputs.size() == static_cast<size_t>(a.runs));
    // The server survived it.
    REQUIRE(server.get("/").status == 200);
  }
  CHECK(server.run("print(1)").json()["status"] == "success");
  CHECK(server.terminate() == 0);
  CHECK(leaked_run_cgroups(cgroups_before) == std::vector<std::string>{});
}
