#include "core/http/health.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/sandbox/plan.h"
#include "core/util/fd.h"

namespace pyrunner {
namespace {

constexpr const char* kProbe = R"PY(
import importlib.metadata as md, json, sys
dists = md.packages_distributions()
out = {"python": sys.version.split()[0], "versions": {}}
for name in sys.argv[1:]:
    top = name.split(".")[0]
    for dist in dists.get(top, [top]):
        try:
            out["versions"][top] = md.version(dist)
            break
        except Exception:
            pass
print(json.dumps(out))
)PY";

constexpr int kProbeTimeoutMs = 20000;

}  // namespace

LibraryReport probe_libraries(const Config& config) {
  LibraryReport report;
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    report.error = "pipe2 failed";
    return report;
  }
  UniqueFd read_end(out[0]), write_end(out[1]);
  std::vector<std::string> args = {config.python.interpreter, "-I", "-c", kProbe};
  for (const auto& m : config.python.preload) args.push_back(m);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = sandbox::sandbox_environment();
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int rc = posix_spawn(&pid, config.python.interpreter.c_str(), &actions, nullptr, argv.data(),
                       envp.data());
  posix_spawn_file_actions_destroy(&actions);
  write_end.reset();
  if (rc != 0) {
    report.error = "cannot start " + config.python.interpreter;
    return report;
  }
  std::string text;
  char buf[4096];
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kProbeTimeoutMs);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{read_end.get(), POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    ssize_t n = read(read_end.get(), buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  try {
    auto j = nlohmann::json::parse(text);
    report.python_version = j.at("python").get<std::string>();
    for (auto& [name, version] : j.at("versions").items())
      report.versions[name] = version.get<std::string>();
  } catch (const nlohmann::json::exception&) {
    report.error = "the interpreter's answer was not readable";
  }
  return report;
}

}  // namespace pyrunner
