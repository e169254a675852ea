#pragma once
/// What runs code, started once and shared by every face of the server: the host's sandbox,
/// the library report, the warm pool (checked with a canary run), the run service, the
/// validator and the sessions, bundled as the Services the routes and MCP use. `serve` puts
/// HTTP in front of it, `mcp` the stdio transport; neither repeats the start-up.

#include <memory>
#include <optional>
#include <variant>

#include "core/config/config.h"
#include "core/http/services.h"

namespace pyrunner {

/// Logs go to stderr, never stdout: `serve` writes nothing else there and `mcp` keeps its
/// stdout for JSON-RPC. $PYRUNNER_LOG_LEVEL sets the level.
void log_to_stderr();

class Backend {
 public:
  /// prepare() and warm_up(): ready to run code. On failure it has logged why and returns the
  /// process exit code instead (kUnavailable).
  static std::variant<std::unique_ptr<Backend>, int> start(const Config& config);
  /// Prepares the host's sandbox and probes the libraries (a fraction of a second): enough to
  /// describe what runs will have, not yet to run them.
  static std::variant<std::unique_ptr<Backend>, int> prepare(const Config& config);
  /// Starts the pool (the zygote imports the preload modules: seconds) and makes a canary run:
  /// a host that lets the pool start but not a run is refused now, not at the first request.
  Status warm_up();
  ~Backend();  // ends the sessions, then stops the pool

  Services& services() { return services_; }

  /// The shutdown of runs: no new ones (503), up to server.shutdown_grace for those in flight,
  /// then the rest are killed and every session is ended (its child killed, its cgroup gone).
  void stop_runs(const char* why);

 private:
  Backend(const Config& config, sandbox::HostSandbox host, LibraryReport libraries);

  const Config& config_;
  sandbox::HostSandbox host_;
  LibraryReport libraries_;
  WarmPool pool_;
  Metrics metrics_;
  RunService runs_;
  RequestValidator validator_;
  SessionManager sessions_;
  Services services_;
};

}  // namespace pyrunner
