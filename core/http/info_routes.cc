// GET / (health and capabilities), GET /openapi.json, GET /metrics.

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/http/isolation.h"
#include "core/http/openapi.h"
#include "core/http/services.h"
#include "core/sandbox/namespaces.h"
#include "version.h"

namespace pyrunner {
namespace {

using nlohmann::ordered_json;

void health(Services& s, HttpResponse& res) {
  const auto& l = s.config.limits;
  const auto pool = s.pool.stats();
  ordered_json libraries = ordered_json::object();
  for (const auto& [name, version] : s.libraries.versions) libraries[name] = version;
  const bool up = pool.zygote_up;
  ordered_json j;
  j["service"] = "pyrunner";
  j["status"] = !up ? "unavailable" : s.host.degraded ? "degraded" : "ok";
  j["version"] = kVersion;
  j["python"] = {{"interpreter", s.config.python.interpreter},
                 {"version", s.libraries.python_version}};
  j["libraries"] = libraries;
  j["limits"] = {
      {"timeout", {{"default", l.default_timeout}, {"min", 1}, {"max", l.max_timeout}}},
      {"memory_limit_mb",
       {{"default", l.default_memory_mb}, {"min", l.min_memory_mb}, {"max", l.max_memory_mb}}},
      {"max_code_bytes", l.max_code_bytes},
      {"max_stdin_bytes", l.max_stdin_bytes},
      {"max_output_bytes", l.max_output_bytes}};
  j["isolation"] = isolation_report(s.host, s.config, sandbox::namespace_clone_flags());
  j["pool"] = {
      {"enabled", pool.warm},
      {"mode", pool.mode},
      {"fallback", pool.fallback.empty() ? ordered_json() : ordered_json(pool.fallback)},
      {"size", pool.size},
      {"ready", pool.ready},
      {"zygote_pid", pool.zygote_pid},
      {"zygote_uptime_s", std::round(pool.zygote_uptime_s * 10) / 10},
      {"zygote_restarts", pool.zygote_restarts},
      {"preloaded", pool.mode != "cold" ? s.config.python.preload : std::vector<std::string>{}}};
  j["runs"] = {
      {"running", s.runs.admission().running()},
      {"waiting", s.runs.admission().waiting()},
      {"max_concurrent", s.config.concurrent_runs()},
      {"max_queue", s.config.server.max_queue < 0 ? ordered_json("auto")
                                                  : ordered_json(s.config.server.max_queue)},
      {"queue_timeout", s.config.server.queue_timeout}};
  // Whether a key is needed, never which keys there are.
  j["auth"] = s.keys != nullptr ? "api_key" : "none";
  j["sessions"] = {{"open", s.sessions.open_count()},
                   {"max", s.config.sessions.max_sessions},
                   {"replica", s.sessions.replica()},
                   {"idle_timeout", s.config.sessions.idle_timeout},
                   {"max_lifetime", s.config.sessions.max_lifetime}};
  res.json(up ? 200 : 503, j.dump());
}

}  // namespace

std::vector<Route> info_routes(Services& s) {
  auto openapi = std::make_shared<const std::string>(openapi_document(s.config, s.keys != nullptr));
  // Health and the document need no key: the probes of Kubernetes and Compose, and a client
  // finding out how to authenticate, have none. The metrics do: they name the key ids.
  return {
      {"GET", "/", "/", [&s](const HttpRequest&, HttpResponse& res) { health(s, res); }, true},
      {"GET", "/openapi.json", "/openapi.json",
       [openapi](const HttpRequest&, HttpResponse& res) { res.json(200, *openapi); }, true},
      {"GET", "/metrics", "/metrics",
       [&s](const HttpRequest&, HttpResponse& res) {
         auto pool = s.pool.stats();
         res.status = 200;
         res.body =
             s.metrics.render(pool.ready, pool.size, s.sessions.open_count(), s.connections());
         res.content_type = "text/plain; version=0.0.4";
       }},
  };
}

}  // namespace pyrunner
