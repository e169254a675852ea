// The security corpus: every attack program in tests/security/*.py, run with the static
// policy off (the sandbox alone must hold), through `pyrunner run` and through `serve` with
// the warm pool on. One section per program, so that one failure hides no other; the header
// of each program says what its runs must end with (tests/security/README.md is the contract
// this file implements). The test binary itself runs inside a throwaway PID namespace
// (make test).

#include <limits.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "core/util/base64.h"
#include "core/util/utf8.h"
#include "support/harness.h"
#include "support/mcp_client.h"
#include "support/pool_probe.h"
#include "support/processes.h"

namespace {

using namespace pyrunner::testing;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kPolicyOff = "policy:\n  enabled: false\n";
constexpr const char* kSecretEnv = "PYRUNNER_TEST_SECRET=hunter2-canary";
constexpr const char* kSecret = "hunter2-canary";
// Below the pool's 4 children: every run of a program then takes a child that was already
// waiting before the program started, which is what the pool check after it counts on.
constexpr int kMaxRuns = 3;

const std::set<std::string> kCategories = {
    "host-files", "environment", "network",   "writes",  "signals", "syscalls", "abi32",
    "fork-bomb",  "memory-bomb", "disk-fill", "daemons", "leakage", "fds",      "limits"};
const std::set<std::string> kStatuses = {"success", "error", "timeout", "memory_exceeded"};
// What `compare-host` may name: facts of the host a run must not share (see host_facts()).
const std::set<std::string> kHostFacts = {"hostname", "uts-namespace"};

struct Attack {
  std::string file, code, category, expect_status, expect_error;
  int timeout = 10, memory = 256, runs = 1;
  bool runs_differ = false;
  bool expect_truncated = false;
  bool concurrent_activity = false;
  std::vector<std::string> compare_host;
};

struct Corpus {
  std::vector<Attack> attacks;      // the programs whose header is valid, sorted by file name
  std::vector<std::string> errors;  // "<file>:<line>: <what is wrong>" for the others
};

std::optional<int> parse_int(const std::string& text, int min, int max) {
  if (text.empty() || text.size() > 6 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const int n = std::stoi(text);
  if (n < min || n > max) return std::nullopt;
  return n;
}

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

// The header is the run of "# key: value" lines (lowercase key) from line 1; the first line
// of any other shape ends it, and the prose comments after it are for readers. Every key in
// it must be known: a typo ("# run: 2") would otherwise drop its check without a word.
std::optional<Attack> parse_attack(const std::filesystem::path& path,
                                   std::vector<std::string>* errors) {
  Attack a;
  a.file = path.filename();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  a.code = text.str();
  bool valid = true;
  auto error = [&](int line, const std::string& what) {
    errors->push_back(a.file + ":" + std::to_string(line) + ": " + what);
    valid = false;
  };

  static const std::regex kHeaderLine("^# ([a-z][a-z0-9-]*): (.*)$");
  std::istringstream lines(a.code);
  std::string line;
  std::set<std::string> seen;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    std::smatch m;
    if (!std::regex_match(line, m, kHeaderLine)) break;
    const std::string key = m[1], value = m[2];
    if (!seen.insert(key).second) {
      error(n, "header key '" + key + "' given twice");
      continue;
    }
    auto integer = [&](int min, int max, int* out) {
      if (auto v = parse_int(value, min, max)) {
        *out = *v;
      } else {
        error(n, key + ": '" + value + "' is not an integer from " + std::to_string(min) + " to " +
                     std::to_string(max));
      }
    };
    auto boolean = [&](bool* out) {
      if (value == "true" || value == "false") {
        *out = value == "true";
      } else {
        error(n, key + ": '" + value + "' is neither true nor false");
      }
    };
    if (key == "category") {
      a.category = value;
    } else if (key == "expect-status") {
      a.expect_status = value;
      if (!kStatuses.count(value)) error(n, "expect-status: unknown status '" + value + "'");
    } else if (key == "expect-error") {
      a.expect_error = value;
      if (value.empty()) error(n, "expect-error: empty");
    } else if (key == "timeout") {
      integer(1, 300, &a.timeout);
    } else if (key == "memory") {
      integer(64, 2048, &a.memory);
    } else if (key == "runs") {
      integer(1, kMaxRuns, &a.runs);
    } else if (key == "runs-differ") {
      boolean(&a.runs_differ);
    } else if (key == "expect-truncated") {
      boolean(&a.expect_truncated);
    } else if (key == "concurrent-activity") {
      boolean(&a.concurrent_activity);
    } else if (key == "compare-host") {
      a.compare_host = words(value);
      if (a.compare_host.empty()) error(n, "compare-host: names nothing");
      for (const auto& fact : a.compare_host)
        if (!kHostFacts.count(fact)) error(n, "compare-host: unknown fact '" + fact + "'");
    } else {
      error(n, "unknown header key '" + key + "'");
    }
  }

  const auto underscore = a.file.find('_');
  const std::string prefix = a.file.substr(0, underscore);
  if (underscore == std::string::npos || path.extension() != ".py")
    error(1, "the file name is not <category>_<name>.py");
  if (a.category.empty()) {
    error(1, "no category in the header");
  } else if (!kCategories.count(a.category)) {
    error(1, "unknown category '" + a.category + "'");
  } else if (a.category != prefix) {
    error(1, "category '" + a.category + "' does not match the file name prefix '" + prefix + "'");
  }
  if (a.expect_status.empty()) error(1, "no expect-status in the header");
  if (!a.expect_error.empty() && a.expect_status == "success")
    error(1, "expect-error with expect-status success");
  if (a.runs_differ && a.runs < 2) error(1, "runs-differ needs runs of 2 or more");
  if (!valid) return std::nullopt;
  return a;
}

Corpus load_corpus() {
  Corpus corpus;
  for (const auto& entry : std::filesystem::directory_iterator(source_path("tests/security"))) {
    if (entry.path().extension() != ".py") continue;
    if (auto a = parse_attack(entry.path(), &corpus.errors)) corpus.attacks.push_back(*a);
  }
  std::sort(corpus.attacks.begin(), corpus.attacks.end(),
            [](const Attack& x, const Attack& y) { return x.file < y.file; });
  return corpus;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::string ns_link(pid_t pid, const char* name) {
  char target[PATH_MAX];
  const std::string path = "/proc/" + std::to_string(pid) + "/ns/" + name;
  ssize_t n = readlink(path.c_str(), target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : "unreadable " + path;
}

// For `compare-host`: each fact's values outside the run. A run's `INFO <fact> <value>` line
// must match none of them. `creators`: the processes the run is cloned from (and by).
std::map<std::string, std::set<std::string>> host_facts(const std::vector<pid_t>& creators) {
  char name[HOST_NAME_MAX + 1] = {};
  gethostname(name, sizeof name - 1);
  std::map<std::string, std::set<std::string>> facts;
  facts["hostname"].insert(name);
  for (pid_t pid : creators) facts["uts-namespace"].insert(ns_link(pid, "uts"));
  return facts;
}

// The checks of one run (README: "What the harness asserts, per run"). `exact_error`: the
// result's error is pyrunner's own text (not so through the drop-in APIs, which answer with
// their originals' messages).
void check_verdict(const Attack& a, const json& result,
                   const std::map<std::string, std::set<std::string>>& facts,
                   bool exact_error = true) {
  INFO(a.file << "\n" << result.dump(2, ' ', false, json::error_handler_t::replace));
  REQUIRE(result.is_object());
  CHECK(result["status"] == a.expect_status);
  if (!a.expect_error.empty() && exact_error) CHECK(result["error"] == a.expect_error);
  REQUIRE(result["stdout"].is_string());
  const std::string out = result["stdout"];
  const auto lines = lines_of(out);
  CHECK(out.find("ESCAPED") == std::string::npos);
  if (a.expect_status == "success") {
    CHECK(std::any_of(lines.begin(), lines.end(),
                      [](const std::string& l) { return l.rfind("BLOCKED ", 0) == 0; }));
  }
  // Anywhere in the result: stdout, stderr, error and any field still to come.
  CHECK(result.dump(-1, ' ', false, json::error_handler_t::replace).find(kSecret) ==
        std::string::npos);
  if (a.expect_truncated && result.contains("truncated")) CHECK(result["truncated"] == true);
  for (const auto& fact : a.compare_host) {
    const std::string tag = "INFO " + fact + " ";
    auto line = std::find_if(lines.begin(), lines.end(),
                             [&](const std::string& l) { return l.rfind(tag, 0) == 0; });
    INFO("compare-host " << fact);
    REQUIRE(line != lines.end());
    const std::string value = line->substr(tag.size());
    INFO("the run's " << fact << ": " << value);
    CHECK_FALSE(value.empty());
    CHECK(facts.at(fact).count(value) == 0);
  }
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

// The strays a program left: those not there before it (a leftover of an earlier program is
// that program's failure, reported there), other than the server's own children (its pool).
std::vector<std::string> new_strays(const std::set<std::string>& before, pid_t server) {
  std::vector<std::string> found;
  const auto pool = server > 0 ? children_of(server) : std::vector<pid_t>{};
  for (const auto& stray : stray_processes()) {
    const pid_t pid = std::atoi(stray.c_str());
    if (!before.count(stray) && std::find(pool.begin(), pool.end(), pid) == pool.end())
      found.push_back(stray);
  }
  return found;
}

// Stray processes disappear as soon as the run's PID 1 is gone; through serve that happens on
// the reaper thread just after the answer, so allow it a bounded moment.
std::vector<std::string> strays_after_run(const std::set<std::string>& before, pid_t server) {
  std::vector<std::string> strays;
  eventually([&] { return (strays = new_strays(before, server)).empty(); }, 3s);
  return strays;
}

std::set<std::string> current_strays() {
  const auto strays = stray_processes();
  return {strays.begin(), strays.end()};
}

// The drop-in APIs' answers in pyrunner's terms, for check_verdict: the status their own
// status maps back to, the streams, and their message as the error. Judge0 answers with
// base64 (output that is not UTF-8 is then no conversion error) and has no truncation flag.
json judge0_as_result(const json& j) {
  const auto text = [&](const char* field) {
    return j[field].is_string()
               ? pyrunner::base64_decode(j[field].get<std::string>()).value_or("<not base64>")
               : std::string();
  };
  const std::string message = text("message");
  const int id = j["status"]["id"];
  const bool memory = message.rfind("Memory limit", 0) == 0;
  const std::string status = id == 3 ? "success"
                             : id == 5
                                 ? "timeout"
                                 : (id >= 7 && id <= 12 ? (memory ? "memory_exceeded" : "error")
                                                        : "internal error " + std::to_string(id));
  return {{"status", status},
          {"stdout", pyrunner::sanitize_utf8(text("stdout"))},
          {"stderr", pyrunner::sanitize_utf8(text("stderr"))},
          {"error", pyrunner::sanitize_utf8(message)},
          {"judge0", j}};
}

json piston_as_result(const json& j) {
  const json& run = j["run"];
  const std::string letters = run["status"].is_string() ? run["status"].get<std::string>() : "";
  const std::string message = run["message"].is_string() ? run["message"].get<std::string>() : "";
  const bool memory = message.rfind("Memory limit", 0) == 0;
  const std::string status = letters.empty() || letters == "OL" || letters == "EL" ? "success"
                             : letters == "TO"                                     ? "timeout"
                             : letters == "RE" || letters == "SG"
                                 ? (memory ? "memory_exceeded" : "error")
                                 : "unknown status " + letters;
  return {{"status", status},
          {"stdout", run["stdout"]},
          {"stderr", run["stderr"]},
          {"error", message},
          {"truncated", !letters.empty() && (letters == "OL" || letters == "EL")},
          {"piston", j}};
}

// The server the serve-mode sections share (see below).
// Its API key is the secret itself: the environment programs, which look for the secret
// everywhere a run can see, also check that the server's key never reaches a run. The key's
// limits are off (tests/access checks them): the corpus is not paced for them.
struct CorpusServer {
  CorpusServer() { server.set_default_headers({{"X-API-Key", kSecret}}); }
  TestServer server{std::string(kPolicyOff) +
                        "server:\n  key_limits: {requests_per_minute: 0, concurrent_runs: 0, "
                        "sessions: 0}\n",
                    {kSecretEnv, std::string("PYRUNNER_API_KEYS=") + kSecret}};
  std::set<std::string> cgroup_prefixes;  // of its run cgroups, collected as they appear
  std::string last_program = "(none yet)";
};

}  // namespace

TEST_CASE("every corpus program has a valid header, and every category a program", "[security]") {
  auto corpus = load_corpus();
  for (const auto& e : corpus.errors) FAIL_CHECK(e);
  CHECK(corpus.attacks.size() >= 25);
  std::set<std::string> categories;
  for (const auto& a : corpus.attacks) categories.insert(a.category);
  CHECK(categories == kCategories);
}

TEST_CASE("the corpus header parser rejects what it does not understand", "[security]") {
  TempFile dir("", "placeholder");
  const std::string base = dir.path().substr(0, dir.path().rfind('/') + 1);
  auto errors_of = [&](const std::string& file, const std::string& code) {
    std::ofstream(base + file) << code;
    std::vector<std::string> errors;
    parse_attack(base + file, &errors);
    return errors;
  };
  using Errors = std::vector<std::string>;
  CHECK(errors_of("signals_x.py", "# category: signals\n# expect-status: success\n# run: 2\n") ==
        Errors{"signals_x.py:3: unknown header key 'run'"});
  CHECK(errors_of("signals_x.py", "# category: network\n# expect-status: success\n") ==
        Errors{"signals_x.py:1: category 'network' does not match the file name prefix 'signals'"});
  CHECK(errors_of("signals_x.py", "# category: signals\n# expect-status: success\n# runs: 2x\n") ==
        Errors{"signals_x.py:3: runs: '2x' is not an integer from 1 to 3"});
  CHECK(errors_of("signals_x.py", "# category: signals\n# expect-status: ok\n") ==
        Errors{"signals_x.py:2: expect-status: unknown status 'ok'"});
  CHECK(errors_of("signals_x.py",
                  "# category: signals\n# expect-status: success\n"
                  "# runs-differ: yes\n") ==
        Errors{"signals_x.py:3: runs-differ: 'yes' is neither true nor false"});
  CHECK(errors_of("signals_x.py", "# category: signals\n") ==
        Errors{"signals_x.py:1: no expect-status in the header"});
  CHECK(errors_of("signals_x.py",
                  "# category: signals\n# category: signals\n"
                  "# expect-status: error\n") ==
        Errors{"signals_x.py:2: header key 'category' given twice"});
  // Prose after the header is not header: the first line of another shape ends it.
  CHECK(errors_of("signals_x.py",
                  "# category: signals\n# expect-status: error\n# expect-error: Killed\n"
                  "# Why: prose\n# runs: not read\n")
            .empty());
}

TEST_CASE("no escape through `pyrunner run` with the policy off", "[security]") {
  const auto corpus = load_corpus();
  auto config = config_file(kPolicyOff);
  // `pyrunner run` clones the run from itself, and it shares our namespaces.
  const auto facts = host_facts({getpid()});
  for (const auto& a : corpus.attacks) {
    DYNAMIC_SECTION(a.file) {
      const auto strays_before = current_strays();
      OwnRunCgroups cgroups;
      std::set<std::string> outputs;
      BusyHost busy(a.concurrent_activity);
      for (int i = 0; i < a.runs; ++i) {
        auto run = run_code(a.code,
                            {"--config", config.path(), "--timeout", std::to_string(a.timeout),
                             "--memory-limit", std::to_string(a.memory)},
                            {kSecretEnv});
        INFO(a.file << " run " << i << " exit " << run.process.exit_code << " stderr "
                    << run.process.err);
        check_verdict(a, run.result, facts);
        outputs.insert(run.result["stdout"].get<std::string>());
        // The run's processes are gone once `pyrunner run` has returned.
        CHECK(new_strays(strays_before, -1) == std::vector<std::string>{});
      }
      if (a.runs_differ) CHECK(outputs.size() == static_cast<size_t>(a.runs));
      // Each `pyrunner run` made one cgroup and removed it before returning.
      const auto used = cgroups.stop();
      if (used.size() < static_cast<size_t>(a.runs))
        WARN(a.file << ": " << a.runs - used.size()
                    << " run(s) ended before their cgroup was seen: not checked for a leak");
      CHECK(remaining_run_cgroup_names(used) == std::vector<std::string>{});
    }
  }
}

TEST_CASE("no escape through `serve` with the warm pool on", "[security][serve]") {
  // One server for the whole corpus, on purpose: what a program leaves behind in the server,
  // its zygote or its pool must not reach the programs after it. Catch2 runs a test case once
  // per section, so the server outlives the passes; the last section stops it. If a program
  // kills the server, that program fails and the rest get a new one.
  static std::unique_ptr<CorpusServer> served;
  const auto corpus = load_corpus();
  for (const auto& a : corpus.attacks) {
    DYNAMIC_SECTION(a.file) {
      if (!served) served = std::make_unique<CorpusServer>();
      if (!served->server.alive()) {
        FAIL_CHECK("the server died after " << served->last_program << "; starting another");
        served = std::make_unique<CorpusServer>();
      }
      served->last_program = a.file;
      auto& s = served->server;
      // The pool full and quiet: the waiting children this program may harm are known.
      const auto before = quiet_pool(s, 30s);
      const std::string log = s.log();
      INFO("server log (end):\n" << log.substr(log.size() > 3000 ? log.size() - 3000 : 0));
      REQUIRE(before.has_value());
      const auto facts = host_facts({getpid(), s.pid(), before->zygote});
      const auto strays_before = current_strays();

      std::set<std::string> outputs;
      {
        BusyHost busy(a.concurrent_activity);
        for (int i = 0; i < a.runs; ++i) {
          auto response = s.run(a.code, {{"timeout", a.timeout}, {"memory_limit", a.memory}});
          INFO(a.file << " run " << i << " HTTP " << response.status << " " << response.body);
          REQUIRE(response.status == 200);
          check_verdict(a, response.json(), facts);
          outputs.insert(response.json()["stdout"].get<std::string>());
          CHECK(strays_after_run(strays_before, s.pid()) == std::vector<std::string>{});
        }
      }
      if (a.runs_differ) CHECK(outputs.size() == static_cast<size_t>(a.runs));
      served->cgroup_prefixes.merge(run_cgroup_prefixes_of(s.pid()));

      // Harm to the pool heals silently (dead children are discarded, a dead zygote is
      // restarted, an undelivered request is retried once): so look at it directly.
      for (const auto& harm : pool_harm(s, *before, a.runs, 10s)) FAIL_CHECK(harm);
      // And the runner is unharmed: a trivial program through the same server.
      auto control = s.run("print(1)");
      INFO("control run: " << control.status << " " << control.body);
      REQUIRE(control.status == 200);
      CHECK(control.json()["status"] == "success");
      CHECK(control.json()["stdout"] == "1\n");
    }
  }
  SECTION("after the corpus the server stops cleanly and leaves no run cgroup") {
    if (!served) served = std::make_unique<CorpusServer>();  // only this section selected
    auto& s = served->server;
    REQUIRE(s.alive());
    served->cgroup_prefixes.merge(run_cgroup_prefixes_of(s.pid()));
    REQUIRE_FALSE(served->cgroup_prefixes.empty());
    CHECK(s.terminate() == 0);
    CHECK(remaining_run_cgroups(served->cgroup_prefixes) == std::vector<std::string>{});
    served.reset();
  }
}

TEST_CASE("no escape from inside a session", "[security][serve][sessions]") {
  // Each program runs in a session of its own (a new one for each of its runs: within one
  // session, state is meant to persist), then the session is deleted; what it started must be
  // gone with it, and the pool and the server unharmed.
  static std::unique_ptr<CorpusServer> served;
  const auto corpus = load_corpus();
  for (const auto& a : corpus.attacks) {
    DYNAMIC_SECTION(a.file) {
      if (!served) served = std::make_unique<CorpusServer>();
      if (!served->server.alive()) {
        FAIL_CHECK("the server died after " << served->last_program << "; starting another");
        served = std::make_unique<CorpusServer>();
      }
      served->last_program = a.file;
      auto& s = served->server;
      REQUIRE(quiet_pool(s, 30s).has_value());
      const auto facts = host_facts({getpid(), s.pid()});
      const auto strays_before = current_strays();
      std::set<std::string> outputs;
      BusyHost busy(a.concurrent_activity);
      for (int i = 0; i < a.runs; ++i) {
        auto made = s.post("/sessions", json{{"memory_limit", a.memory}}.dump());
        INFO(a.file << " session " << made.status << " " << made.body);
        REQUIRE(made.status == 201);
        const std::string id = made.json()["id"];
        auto response = s.post("/sessions/" + id + "/run",
                               json{{"code", a.code}, {"timeout", a.timeout}}.dump());
        INFO(a.file << " run " << i << " HTTP " << response.status << " " << response.body);
        REQUIRE(response.status == 200);
        check_verdict(a, response.json(), facts);
        outputs.insert(response.json()["stdout"].get<std::string>());
        const int deleted = s.del("/sessions/" + id).status;
        CHECK((deleted == 204 || deleted == 410));  // 410: the program ended its session
        CHECK(strays_after_run(strays_before, s.pid()) == std::vector<std::string>{});
      }
      if (a.runs_differ) CHECK(outputs.size() == static_cast<size_t>(a.runs));
      served->cgroup_prefixes.merge(run_cgroup_prefixes_of(s.pid()));
      auto control = s.run("print(1)");
      REQUIRE(control.status == 200);
      CHECK(control.json()["stdout"] == "1\n");
    }
  }
  SECTION("after the corpus the server stops cleanly and leaves no run cgroup") {
    if (!served) served = std::make_unique<CorpusServer>();
    auto& s = served->server;
    REQUIRE(s.alive());
    served->cgroup_prefixes.merge(run_cgroup_prefixes_of(s.pid()));
    CHECK(s.terminate() == 0);
    CHECK(remaining_run_cgroups(served->cgroup_prefixes) == std::vector<std::string>{});
    served.reset();
  }
}

TEST_CASE("no escape through the drop-in APIs: Judge0 /submissions and Piston /api/v2/execute",
          "[security][serve][compat]") {
  // The corpus again, through the Judge0 and Piston routes (alternately, at least once each):
  // they map onto the same core, and this checks that no field of theirs opens a way around
  // it (their limits, files, arguments) and that what they answer leaks nothing. Same server
  // checks as above: no strays, the pool unharmed, a control run after each program.
  static std::unique_ptr<CorpusServer> served;
  const auto corpus = load_corpus();
  for (const auto& a : corpus.attacks) {
    DYNAMIC_SECTION(a.file) {
      if (!served) served = std::make_unique<CorpusServer>();
      if (!served->server.alive()) {
        FAIL_CHECK("the server died after " << served->last_program << "; starting another");
        served = std::make_unique<CorpusServer>();
      }
      served->last_program = a.file;
      auto& s = served->server;
      const auto before = quiet_pool(s, 30s);
      REQUIRE(before.has_value());
      const auto facts = host_facts({getpid(), s.pid(), before->zygote});
      const auto strays_before = current_strays();
      const int runs = std::max(a.runs, 2);
      std::set<std::string> outputs;
      {
        BusyHost busy(a.concurrent_activity);
        for (int i = 0; i < runs; ++i) {
          json result;
          if (i % 2 == 0) {
            // Judge0's limits: the program's timeout as CPU and wall time, its memory in KB,
            // files as large as the sandbox allows (Judge0's own cap would otherwise decide).
            auto r = s.post("/submissions?wait=true&base64_encoded=true&fields=*",
                            json{{"language_id", 71},
                                 {"source_code", pyrunner::base64_encode(a.code)},
                                 {"cpu_time_limit", a.timeout},
                                 {"cpu_extra_time", 0},
                                 {"wall_time_limit", a.timeout},
                                 {"memory_limit", a.memory * 1024},
                                 {"max_file_size", 64 * 1024}}
                                .dump());
            INFO(a.file << " Judge0 run " << i << " HTTP " << r.status << " " << r.body);
            REQUIRE(r.status == 201);
            result = judge0_as_result(r.json());
          } else {
            auto r = s.post("/api/v2/execute",
                            json{{"language", "python"},
                                 {"version", "3"},
                                 {"files", {{{"name", "main.py"}, {"content", a.code}}}},
                                 {"run_timeout", a.timeout * 1000},
                                 {"run_memory_limit", a.memory * 1024 * 1024}}
                                .dump());
            INFO(a.file << " Piston run " << i << " HTTP " << r.status << " " << r.body);
            REQUIRE(r.status == 200);
            result = piston_as_result(r.json());
          }
          check_verdict(a, result, facts, false);
          outputs.insert(result["stdout"].get<std::string>());
          CHECK(strays_after_run(strays_before, s.pid()) == std::vector<std::string>{});
        }
      }
      if (a.runs_differ) CHECK(outputs.size() == static_cast<size_t>(runs));
      served->cgroup_prefixes.merge(run_cgroup_prefixes_of(s.pid()));
      for (const auto& harm : pool_harm(s, *before, runs, 10s)) FAIL_CHECK(harm);
      auto control = s.run("print(1)");
      REQUIRE(control.status == 200);
      CHECK(control.json()["stdout"] == "1\n");
    }
  }
  SECTION("after the corpus the server stops cleanly and leaves no run cgroup") {
    if (!served) served = std::make_unique<CorpusServer>();
    auto& s = served->server;
    REQUIRE(s.alive());
    served->cgroup_prefixes.merge(run_cgroup_prefixes_of(s.pid()));
    CHECK(s.terminate() == 0);
    CHECK(remaining_run_cgroups(served->cgroup_prefixes) == std::vector<std::string>{});
    served.reset();
  }
}

TEST_CASE("no escape through MCP's run_python", "[security][serve][mcp]") {
  // Each program runs through /mcp as a model's call would: its own MCP session (a new one for
  // each run), run_python, then DELETE /mcp, which must take everything the program started
  // with it. An MCP session's memory limit is sessions.default_memory_mb, so the programs run
  // on one server per memory limit their headers ask for.
  static std::map<int, std::unique_ptr<TestServer>> servers;
  static std::set<std::string> cgroup_prefixes;
  static std::string last_program = "(none yet)";
  const auto corpus = load_corpus();
  for (const auto& a : corpus.attacks) {
    DYNAMIC_SECTION(a.file) {
      auto& server = servers[a.memory];
      if (server && !server->alive()) {
        FAIL_CHECK("the server died after " << last_program << "; starting another");
        server.reset();
      }
      if (!server)
        // Nothing preloaded: several servers start, and what a run can reach does not depend
        // on what the zygote imported.
        server = std::make_unique<TestServer>(std::string(kPolicyOff) +
                                                  "python:\n  preload: []\n"
                                                  "sessions:\n  default_memory_mb: " +
                                                  std::to_string(a.memory) + "\n",
                                              std::vector<std::string>{kSecretEnv});
      last_program = a.file;
      auto& s = *server;
      REQUIRE(quiet_pool(s, 30s).has_value());
      const auto facts = host_facts({getpid(), s.pid()});
      const auto strays_before = current_strays();
      std::set<std::string> outputs;
      BusyHost busy(a.concurrent_activity);
      for (int i = 0; i < a.runs; ++i) {
        HttpMcp mcp(s);
        INFO(a.file << " initialize " << mcp.initialize_answer().status << " "
                    << mcp.initialize_answer().body);
        REQUIRE(mcp.initialized());
        auto answer =
            mcp.post(rpc_request(i + 10, "tools/call",
                                 {{"name", "run_python"},
                                  {"arguments", {{"code", a.code}, {"timeout", a.timeout}}}})
                         .dump());
        INFO(a.file << " run " << i << " HTTP " << answer.status << " "
                    << answer.body.substr(0, 3000));
        REQUIRE(answer.status == 200);
        // Nothing of the secret anywhere in what the client got, text and structure alike.
        CHECK(answer.body.find(kSecret) == std::string::npos);
        const json result = json::parse(answer.body)["result"];
        REQUIRE(result.contains("structuredContent"));
        check_verdict(a, result["structuredContent"], facts);
        CHECK(result["isError"] == (a.expect_status != "success"));
        outputs.insert(result["structuredContent"]["stdout"].get<std::string>());
        CHECK(mcp.end() == 204);
        CHECK(strays_after_run(strays_before, s.pid()) == std::vector<std::string>{});
      }
      if (a.runs_differ) CHECK(outputs.size() == static_cast<size_t>(a.runs));
      cgroup_prefixes.merge(run_cgroup_prefixes_of(s.pid()));
      CHECK(s.get("/sessions").json()["sessions"].empty());
      auto control = s.run("print(1)");
      REQUIRE(control.status == 200);
      CHECK(control.json()["stdout"] == "1\n");
    }
  }
  SECTION("after the corpus the servers stop cleanly and leave no run cgroup") {
    for (auto& [memory, server] : servers) {
      if (!server) continue;
      REQUIRE(server->alive());
      cgroup_prefixes.merge(run_cgroup_prefixes_of(server->pid()));
      CHECK(server->terminate() == 0);
    }
    CHECK(remaining_run_cgroups(cgroup_prefixes) == std::vector<std::string>{});
    servers.clear();
  }
}
