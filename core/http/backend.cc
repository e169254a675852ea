#include "core/http/backend.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "core/executor/executor.h"
#include "core/executor/scheduling.h"
#include "core/http/isolation.h"
#include "core/model/outcome.h"
#include "core/sandbox/namespaces.h"

namespace pyrunner {

void log_to_stderr() {
  if (spdlog::get("pyrunner")) return;
  auto logger = spdlog::stderr_logger_mt("pyrunner");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  if (const char* level = std::getenv("PYRUNNER_LOG_LEVEL"))
    spdlog::set_level(spdlog::level::from_str(level));
}

Backend::Backend(const Config& config, sandbox::HostSandbox host, LibraryReport libraries)
    : config_(config),
      host_(std::move(host)),
      libraries_(std::move(libraries)),
      // The zygote gets a clean environment, so it is told the file itself (PYRUNNER_CONFIG
      // included).
      pool_(config, host_.cgroups.get(), config.source == Config{}.source ? "" : config.source),
      runs_(config, pool_, metrics_),
      validator_(config.limits),
      sessions_(config, runs_, metrics_),
      services_{config, host_, libraries_, pool_, metrics_, runs_, validator_, sessions_} {}

Backend::~Backend() {
  sessions_.stop();
  pool_.stop();
}

std::variant<std::unique_ptr<Backend>, int> Backend::prepare(const Config& config) {
  auto host = sandbox::prepare_host(config);
  if (!host.ok()) {
    spdlog::critical("{}", host.status().message());
    return exit_code::kUnavailable;
  }
  if (host->degraded) spdlog::warn("running without cgroups: {}", host->cgroup_text);
  spdlog::info("sandbox: {}", isolation_summary(*host, sandbox::namespace_clone_flags()));
  if (!background_scheduling_available())
    spdlog::warn(
        "no CAP_SYS_NICE: refilling the pool and tearing runs down compete with runs for the CPU "
        "instead of running in the background (SCHED_IDLE)");
  LibraryReport libraries = probe_libraries(config);
  if (!libraries.error.empty()) spdlog::warn("library versions: {}", libraries.error);
  return std::unique_ptr<Backend>(
      new Backend(config, std::move(host.value()), std::move(libraries)));
}

Status Backend::warm_up() {
  if (auto s = pool_.start(); !s.ok()) return s;
  RunRequest canary;
  canary.code = "print('ok')";
  canary.memory_mb = config_.limits.default_memory_mb;
  auto child = pool_.acquire(std::chrono::seconds(30));
  auto result = child.ok() ? Executor(config_).run(std::move(child.value()), canary)
                           : RunOutcome(RunAbort::kInternal, child.status());
  if (!result.ok() || result->outcome != Outcome::kSuccess)
    return Status::Error("sandbox: a test run failed: " +
                         (result.ok() ? result->stderr_text : result.status().message()));
  return Status::Ok();
}

std::variant<std::unique_ptr<Backend>, int> Backend::start(const Config& config) {
  auto prepared = prepare(config);
  if (auto* code = std::get_if<int>(&prepared)) return *code;
  auto& backend = std::get<std::unique_ptr<Backend>>(prepared);
  if (auto s = backend->warm_up(); !s.ok()) {
    spdlog::critical("{}", s.message());
    return exit_code::kUnavailable;
  }
  return std::move(backend);
}

void Backend::stop_runs(const char* why) {
  using Clock = std::chrono::steady_clock;
  spdlog::info("{}: no new runs; waiting up to {} s for {} in flight", why,
               config_.server.shutdown_grace, runs_.admission().running());
  runs_.start_draining();
  const auto grace_end = Clock::now() + std::chrono::seconds(config_.server.shutdown_grace);
  while (runs_.admission().running() > 0 && Clock::now() < grace_end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (runs_.admission().running() > 0)
    spdlog::warn("grace period over: killing {} runs", runs_.admission().running());
  runs_.abort_runs();
  sessions_.stop();  // every session's child is killed and its cgroup removed
}

}  // namespace pyrunner
