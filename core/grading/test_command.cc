#include "core/grading/test_command.h"

#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "core/executor/executor.h"
#include "core/grading/cases.h"
#include "core/grading/grade.h"
#include "core/grading/junit.h"
#include "core/model/outcome.h"
#include "core/pool/pool.h"
#include "core/sandbox/host.h"
#include "core/util/fd.h"
#include "core/util/utf8.h"

namespace pyrunner::grading {
namespace {

namespace fs = std::filesystem;

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "pyrunner: %s\n", message.c_str());
  return code;
}

bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return !in.bad();
}

// A private directory for the zygote's config file, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "pyrunner-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The zygote reads its config from a file: the user's, with python.preload narrowed to what
// the solution imports.
Status write_zygote_config(const Config& config, const std::vector<std::string>& preload,
                           const std::string& path) {
  YAML::Node root;
  if (config.source != Config{}.source) {
    std::string text;
    if (!read_file(config.source, &text)) return Status::Error("cannot read " + config.source);
    root = YAML::Load(text);
  }
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  YAML::Node list(YAML::NodeType::Sequence);
  for (const auto& m : preload) list.push_back(m);
  root["python"]["preload"] = list;
  std::ofstream out(path);
  out << YAML::Dump(root) << "\n";
  return out ? Status::Ok() : Status::Error("cannot write " + path);
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f s", s);
  return buf;
}

std::string megabytes(double mb) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", mb);
  return buf;
}

std::string padded(std::string s, size_t width) {
  // width in code points, near enough for names and verdicts
  size_t shown = 0;
  for (unsigned char c : s) shown += (c & 0xC0) != 0x80;
  if (shown < width) s.append(width - shown, ' ');
  return s;
}

std::string table(const GradeRequest& grade, const GradeReport& report, bool color) {
  const char* green = color ? "\033[32m" : "";
  const char* red = color ? "\033[31m" : "";
  const char* reset = color ? "\033[0m" : "";
  size_t name_width = 4;
  for (const auto& t : grade.tests)
    name_width = std::max(name_width, std::min<size_t>(t.name.size(), 40));
  std::string out = padded("name", name_width) + "  " + padded("verdict", 16) + padded("time", 10) +
                    padded("memory", 10) + "first difference\n";
  for (size_t i = 0; i < grade.tests.size(); ++i) {
    std::string name = sanitize_utf8(grade.tests[i].name);
    if (i >= report.tests.size()) {
      out += padded(name, name_width) + "  " + padded("skipped", 16) + "\n";
      continue;
    }
    const auto& t = report.tests[i];
    const bool ok = t.verdict == Verdict::kAccepted;
    std::string detail = diff_text(t.diff);
    if (detail.empty() && t.result.error) detail = sanitize_utf8(*t.result.error);
    out += padded(name, name_width) + "  " + (ok ? green : red) +
           padded(std::string(verdict_name(t.verdict)), 16) + reset +
           padded(seconds(t.result.execution_time), 10) +
           padded(megabytes(t.result.memory_used_mb), 10) + detail + "\n";
  }
  out += std::to_string(report.passed) + " passed, " + std::to_string(report.failed) + " failed" +
         (report.skipped ? ", " + std::to_string(report.skipped) + " skipped" : "") + " of " +
         std::to_string(report.total) + ": " +
         (report.verdict == Verdict::kAccepted ? green : red) +
         std::string(verdict_name(report.verdict)) + reset + "\n";
  return out;
}

// Every name `code` imports, with its parents: "import a.b as c" gives a.b and a.
std::set<std::string> imported_names(const std::string& code) {
  std::set<std::string> names;
  std::istringstream in(code);
  std::string line;
  const auto add = [&](std::string name) {
    while (!name.empty()) {
      names.insert(name);
      const size_t dot = name.rfind('.');
      name = dot == std::string::npos ? "" : name.substr(0, dot);
    }
  };
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first == "import") {
      std::string rest;
      std::getline(words, rest);
      std::istringstream parts(rest);
      std::string part;
      while (std::getline(parts, part, ',')) {
        std::istringstream p(part);
        std::string name;
        p >> name;
        add(name);
      }
    } else if (first == "from") {
      std::string name;
      words >> name;
      if (!name.empty() && name[0] != '.') add(name);
    }
  }
  return names;
}

}  // namespace

std::vector<std::string> preload_for(const std::string& code,
                                     const std::vector<std::string>& preload) {
  const auto names = imported_names(code);
  std::vector<std::string> chosen;
  for (const auto& module : preload) {
    if (names.count(module)) chosen.push_back(module);
  }
  return chosen;
}

int test_main(const TestOptions& o) {
  auto config = load_config(o.config_path);
  if (!config.ok()) return fail(exit_code::kConfig, config.status().message());
  // The pool logs (a zygote fallback, say) go to stderr: stdout is the report.
  auto logger = spdlog::stderr_logger_mt("pyrunner-test");
  logger->set_pattern("pyrunner: %l: %v");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);

  RequestValidator validator(config->limits);
  GradeRequest grade;
  grade.base = validator.with_defaults("");
  if (!read_file(o.solution, &grade.base.code))
    return fail(exit_code::kNoInput, "cannot read the solution '" + o.solution + "'");
  grade.base.filename = fs::path(o.solution).filename().string();
  if (o.compare) {
    auto mode = compare_mode_from_name(*o.compare);
    if (!mode)
      return fail(exit_code::kUsage,
                  "--compare: must be " + compare_mode_choices() + " (got '" + *o.compare + "')");
    grade.mode = *mode;
  }
  for (const auto& [field, text] :
       {std::pair{"timeout", o.timeout}, {"memory_limit", o.memory_limit}}) {
    if (!text) continue;
    if (auto error = validator.read_limit_flag(field, *text, &grade.base))
      return fail(exit_code::kInvalidInput, error->detail);
  }
  if (auto error = validator.check(grade.base))
    return fail(exit_code::kInvalidInput, o.solution + ": " + error->detail);
  auto cases = load_cases(o.cases, validator, config->limits);
  if (cases.error)
    return fail(cases.error->unreadable ? exit_code::kNoInput : exit_code::kInvalidInput,
                cases.error->message);
  grade.tests = std::move(cases.tests);

  auto host = sandbox::prepare_host(*config);
  if (!host.ok()) return fail(exit_code::kUnavailable, host.status().message());
  if (host->degraded)
    std::fprintf(stderr, "pyrunner: warning: running without cgroups: %s\n",
                 host->cgroup_text.c_str());
  ::signal(SIGPIPE, SIG_IGN);  // a program that closes its stdin must not kill us

  const size_t jobs = static_cast<size_t>(o.jobs ? *o.jobs : config->concurrent_runs());
  const size_t parallel = std::min(jobs, grade.tests.size());
  Config pool_config = *config;
  pool_config.pool.enabled =
      o.pool == "warm" || (o.pool == "auto" && grade.tests.size() >= kWarmMinCases);
  pool_config.pool.size = static_cast<int>(parallel);
  std::string zygote_config = config->source == Config{}.source ? "" : config->source;
  TempDir dir;
  if (pool_config.pool.enabled) {
    pool_config.python.preload = preload_for(grade.base.code, config->python.preload);
    if (dir.path().empty())
      return fail(exit_code::kCantCreate, "cannot make a temporary directory");
    zygote_config = dir.path() + "/zygote.yaml";
    if (auto s = write_zygote_config(*config, pool_config.python.preload, zygote_config); !s.ok())
      return fail(exit_code::kCantCreate, s.message());
  }
  WarmPool pool(pool_config, host->cgroups.get(), zygote_config);
  if (auto s = pool.start(); !s.ok()) return fail(exit_code::kUnavailable, s.message());
  const Executor executor(pool_config);
  RunFn run = [&](const RunRequest& request) {
    RunOutcome result(RunAbort::kInternal, Status::Error("not run"));
    for (int attempt = 0; attempt < 2; ++attempt) {  // a child that died before it got the code
      auto child = pool.acquire(std::chrono::seconds(30));
      if (!child.ok()) return RunOutcome(RunAbort::kUnavailable, child.status());
      result = executor.run(std::move(child.value()), request);
      if (result.ok() || result.abort() != RunAbort::kNotDelivered) break;
    }
    return result;
  };
  auto outcome = run_grade(grade, parallel, run);
  pool.stop();
  if (outcome.abort) return fail(exit_code::kInternal, outcome.abort->status().message());

  if (!o.junit_path.empty()) {
    std::ofstream out(o.junit_path, std::ios::binary);
    out << junit_xml(grade.base.filename, grade, outcome.report);
    if (!out) return fail(exit_code::kCantCreate, "cannot write --junit '" + o.junit_path + "'");
  }
  if (o.json) {
    std::cout << grade_json(grade, outcome.report)
                     .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
              << std::endl;
  } else {
    std::cout << table(grade, outcome.report, isatty(STDOUT_FILENO)) << std::flush;
  }
  return outcome.report.verdict == Verdict::kAccepted ? 0 : 1;
}

}  // namespace pyrunner::grading
