#pragma once
/// What the server's routes share: the config, the host's sandbox, the pool, the run service,
/// the metrics. One object, built by serve_forever, passed to every feature's route table.

#include <functional>
#include <vector>

#include "core/config/config.h"
#include "core/http/health.h"
#include "core/http/metrics.h"
#include "core/http/route.h"
#include "core/http/run_service.h"
#include "core/pool/pool.h"
#include "core/sandbox/host.h"
#include "core/sessions/session_manager.h"
#include "core/validator/validator.h"

namespace pyrunner {

class KeyRing;  // core/access/keys.h

struct Services {
  const Config& config;
  const sandbox::HostSandbox& host;
  const LibraryReport& libraries;
  WarmPool& pool;
  Metrics& metrics;
  RunService& runs;
  const RequestValidator& validator;
  SessionManager& sessions;
  /// The server's API keys (core/access), or null when it has none (and every route is open).
  const KeyRing* keys = nullptr;
  /// The reception's connections and threads, once it is up (for /metrics).
  std::function<ConnectionGauges()> connections = [] { return ConnectionGauges{}; };
};

/// Every route of the server, in one place: each feature's table, in the order they match.
std::vector<Route> all_routes(Services& services);

/// The feature tables (each in its own file).
std::vector<Route> run_routes(Services& services);      // POST /run
std::vector<Route> info_routes(Services& services);     // GET /, /openapi.json, /metrics
std::vector<Route> grading_routes(Services& services);  // POST /grade, /batch (core/grading)
std::vector<Route> session_routes(Services& services);  // /sessions... (core/sessions)
std::vector<Route> judge0_routes(Services& services);   // Judge0's /submissions ... (core/compat)
std::vector<Route> piston_routes(Services& services);   // Piston's /api/v2/... (core/compat)
std::vector<Route> mcp_routes(Services& services);      // /mcp (core/mcp)
std::vector<Route> playground_routes(Services& services);  // GET /playground...

}  // namespace pyrunner
