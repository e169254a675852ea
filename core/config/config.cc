#include "core/config/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <map>
#include <stdexcept>
#include <thread>

#include "core/util/fd.h"

namespace pyrunner {
namespace {

// One entry per key: how to read it into the Config. The table is the list of known keys,
// so an unknown key is anything not in it.
using Reader = std::function<void(const YAML::Node&, Config&)>;

template <typename T>
Reader field(T Config::*section, auto member) {
  return [section, member](const YAML::Node& node, Config& config) {
    (config.*section).*member =
        node.as<std::remove_reference_t<decltype((config.*section).*member)>>();
  };
}

// A count that may be "auto" (-1).
Reader auto_or_int(int& (*member)(Config&)) {
  return [member](const YAML::Node& node, Config& config) {
    member(config) = node.IsScalar() && node.Scalar() == "auto" ? -1 : node.as<int>();
  };
}

// A rejection that names its own key path (the readers below know it, the table does not).
struct KeyError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// server.key_overrides: {<key id>: {requests_per_minute?, concurrent_runs?, sessions?}}.
void read_key_overrides(const YAML::Node& node, Config& config) {
  const std::string where = "server.key_overrides";
  if (node.IsNull()) return;
  if (!node.IsMap()) throw KeyError(where + ": must be a mapping of key ids to limits");
  for (const auto& entry : node) {
    const auto id = entry.first.as<std::string>();
    const std::string path = where + "." + id;
    if (id.size() != 8 || id.find_first_not_of("0123456789abcdef") != std::string::npos)
      throw KeyError(path + ": a key id is the first 8 hex digits (lowercase) of its SHA-256");
    if (!entry.second.IsMap()) throw KeyError(path + ": must be a mapping of limits");
    KeyOverride o;
    for (const auto& limit : entry.second) {
      const auto name = limit.first.as<std::string>();
      std::optional<int>* slot = name == "requests_per_minute" ? &o.requests_per_minute
                                 : name == "concurrent_runs"   ? &o.concurrent_runs
                                 : name == "sessions"          ? &o.sessions
                                                               : nullptr;
      if (slot == nullptr) throw KeyError(path + "." + name + ": unknown key");
      try {
        *slot = limit.second.IsScalar() && limit.second.Scalar() == "auto" &&
                        name != "requests_per_minute"
                    ? -1
                    : limit.second.as<int>();
      } catch (const YAML::Exception&) {
        throw KeyError(path + "." + name + ": invalid value " + limit.second.Scalar() + " (line " +
                       std::to_string(limit.second.Mark().line + 1) + ")");
      }
    }
    config.server.key_overrides[id] = o;
  }
}

const std::map<std::string, std::map<std::string, Reader>>& key_table() {
  static const auto* table = new std::map<std::string, std::map<std::string, Reader>>{
      {"limits",
       {{"default_timeout", field(&Config::limits, &LimitsConfig::default_timeout)},
        {"max_timeout", field(&Config::limits, &LimitsConfig::max_timeout)},
        {"default_memory_mb", field(&Config::limits, &LimitsConfig::default_memory_mb)},
        {"min_memory_mb", field(&Config::limits, &LimitsConfig::min_memory_mb)},
        {"max_memory_mb", field(&Config::limits, &LimitsConfig::max_memory_mb)},
        {"max_output_bytes", field(&Config::limits, &LimitsConfig::max_output_bytes)},
        {"max_code_bytes", field(&Config::limits, &LimitsConfig::max_code_bytes)},
        {"max_stdin_bytes", field(&Config::limits, &LimitsConfig::max_stdin_bytes)},
        {"max_files", field(&Config::limits, &LimitsConfig::max_files)},
        {"max_file_inline_bytes", field(&Config::limits, &LimitsConfig::max_file_inline_bytes)},
        {"max_files_inline_bytes", field(&Config::limits, &LimitsConfig::max_files_inline_bytes)},
        {"max_results_bytes", field(&Config::limits, &LimitsConfig::max_results_bytes)}}},
      {"python",
       {{"interpreter", field(&Config::python, &PythonConfig::interpreter)},
        {"module_paths", field(&Config::python, &PythonConfig::module_paths)},
        {"preload", field(&Config::python, &PythonConfig::preload)},
        {"figure_formats", field(&Config::python, &PythonConfig::figure_formats)},
        {"figure_dpi", field(&Config::python, &PythonConfig::figure_dpi)},
        {"report_libraries", field(&Config::python, &PythonConfig::report_libraries)}}},
      {"sandbox",
       {{"tmp_size_mb", field(&Config::sandbox, &SandboxConfig::tmp_size_mb)},
        {"workdir_size_mb", field(&Config::sandbox, &SandboxConfig::workdir_size_mb)},
        {"pids_max", field(&Config::sandbox, &SandboxConfig::pids_max)},
        {"cpu_cores", field(&Config::sandbox, &SandboxConfig::cpu_cores)},
        {"max_open_files", field(&Config::sandbox, &SandboxConfig::max_open_files)},
        {"max_file_size_mb", field(&Config::sandbox, &SandboxConfig::max_file_size_mb)},
        {"uid", field(&Config::sandbox, &SandboxConfig::uid)},
        {"gid", field(&Config::sandbox, &SandboxConfig::gid)},
        {"cgroup_root", field(&Config::sandbox, &SandboxConfig::cgroup_root)},
        {"allow_degraded", field(&Config::sandbox, &SandboxConfig::allow_degraded)},
        {"root_dir", field(&Config::sandbox, &SandboxConfig::root_dir)},
        {"readonly_paths", field(&Config::sandbox, &SandboxConfig::readonly_paths)}}},
      {"policy",
       {{"enabled", field(&Config::policy, &PolicyConfig::enabled)},
        {"allowed_modules", field(&Config::policy, &PolicyConfig::allowed_modules)},
        {"denied_builtins", field(&Config::policy, &PolicyConfig::denied_builtins)}}},
      {"server",
       {{"host", field(&Config::server, &ServerConfig::host)},
        {"port", field(&Config::server, &ServerConfig::port)},
        {"max_concurrent_runs", field(&Config::server, &ServerConfig::max_concurrent_runs)},
        {"max_queue",
         [](const YAML::Node& node, Config& config) {
           config.server.max_queue =
               node.IsScalar() && node.Scalar() == "auto" ? -1 : node.as<int>();
         }},
        {"queue_timeout", field(&Config::server, &ServerConfig::queue_timeout)},
        {"read_timeout", field(&Config::server, &ServerConfig::read_timeout)},
        {"max_body_bytes", field(&Config::server, &ServerConfig::max_body_bytes)},
        {"max_pending_mb", field(&Config::server, &ServerConfig::max_pending_mb)},
        {"cors_origins", field(&Config::server, &ServerConfig::cors_origins)},
        {"shutdown_grace", field(&Config::server, &ServerConfig::shutdown_grace)},
        {"threads", field(&Config::server, &ServerConfig::threads)},
        {"max_batch", field(&Config::server, &ServerConfig::max_batch)},
        {"max_tests", field(&Config::server, &ServerConfig::max_tests)},
        {"api_keys_file", field(&Config::server, &ServerConfig::api_keys_file)},
        {"key_limits.requests_per_minute",
         [](const YAML::Node& node,
            Config& config) { config.server.key_limits.requests_per_minute = node.as<int>(); }},
        {"key_limits.concurrent_runs",
         auto_or_int([](Config& c) -> int& { return c.server.key_limits.concurrent_runs; })},
        {"key_limits.sessions",
         auto_or_int([](Config& c) -> int& { return c.server.key_limits.sessions; })},
        {"key_overrides", read_key_overrides},
        {"playground",
         [](const YAML::Node& node, Config& config) {
           if (node.IsScalar() && node.Scalar() == "auto")
             config.server.playground.reset();
           else
             config.server.playground = node.as<bool>();
         }}}},
      {"pool",
       {{"enabled", field(&Config::pool, &PoolConfig::enabled)},
        {"size", field(&Config::pool, &PoolConfig::size)}}},
      {"sessions",
       {{"max_sessions", field(&Config::sessions, &SessionsConfig::max_sessions)},
        {"idle_timeout", field(&Config::sessions, &SessionsConfig::idle_timeout)},
        {"max_lifetime", field(&Config::sessions, &SessionsConfig::max_lifetime)},
        {"default_memory_mb", field(&Config::sessions, &SessionsConfig::default_memory_mb)},
        {"interrupt_grace", field(&Config::sessions, &SessionsConfig::interrupt_grace)},
        {"replica", field(&Config::sessions, &SessionsConfig::replica)}}},
      // Keys with a dot are one level deeper: compat: {judge0: {enabled: ...}}.
      {"compat",
       {{"judge0.enabled", field(&Config::compat, &CompatConfig::judge0_enabled)},
        {"judge0.result_ttl", field(&Config::compat, &CompatConfig::judge0_result_ttl)},
        {"judge0.max_submissions", field(&Config::compat, &CompatConfig::judge0_max_submissions)},
        {"judge0.max_store_mb", field(&Config::compat, &CompatConfig::judge0_max_store_mb)},
        {"piston.enabled", field(&Config::compat, &CompatConfig::piston_enabled)}}},
  };
  return *table;
}

// Range rules: one row per bounded integer key.
struct Range {
  const char* path;
  std::function<long(const Config&)> get;
  long min, max;
};

const std::vector<Range>& range_table() {
  static const auto* table = new std::vector<Range>{
      {"limits.default_timeout", [](const Config& c) { return c.limits.default_timeout; }, 1, 3600},
      {"limits.max_timeout", [](const Config& c) { return c.limits.max_timeout; }, 1, 3600},
      {"limits.default_memory_mb", [](const Config& c) { return c.limits.default_memory_mb; }, 16,
       1 << 20},
      {"limits.min_memory_mb", [](const Config& c) { return c.limits.min_memory_mb; }, 16, 1 << 20},
      {"limits.max_memory_mb", [](const Config& c) { return c.limits.max_memory_mb; }, 16, 1 << 20},
      {"limits.max_output_bytes", [](const Config& c) { return c.limits.max_output_bytes; }, 1,
       1L << 30},
      {"limits.max_code_bytes", [](const Config& c) { return c.limits.max_code_bytes; }, 1,
       64L << 20},
      {"limits.max_stdin_bytes", [](const Config& c) { return c.limits.max_stdin_bytes; }, 0,
       1L << 30},
      {"limits.max_files", [](const Config& c) { return c.limits.max_files; }, 0, 100000},
      {"limits.max_file_inline_bytes",
       [](const Config& c) { return c.limits.max_file_inline_bytes; }, 0, 1L << 30},
      {"limits.max_files_inline_bytes",
       [](const Config& c) { return c.limits.max_files_inline_bytes; }, 0, 1L << 30},
      {"limits.max_results_bytes", [](const Config& c) { return c.limits.max_results_bytes; }, 0,
       1L << 30},
      {"python.figure_dpi", [](const Config& c) { return c.python.figure_dpi; }, 10, 1200},
      {"sandbox.tmp_size_mb", [](const Config& c) { return c.sandbox.tmp_size_mb; }, 1, 1 << 16},
      {"sandbox.workdir_size_mb", [](const Config& c) { return c.sandbox.workdir_size_mb; }, 1,
       1 << 16},
      {"sandbox.pids_max", [](const Config& c) { return c.sandbox.pids_max; }, 1, 1 << 16},
      {"sandbox.max_open_files", [](const Config& c) { return c.sandbox.max_open_files; }, 16,
       1 << 20},
      {"sandbox.max_file_size_mb", [](const Config& c) { return c.sandbox.max_file_size_mb; }, 1,
       1 << 20},
      {"sandbox.uid", [](const Config& c) { return c.sandbox.uid; }, 1, 4294967294L},
      {"sandbox.gid", [](const Config& c) { return c.sandbox.gid; }, 1, 4294967294L},
      {"server.port", [](const Config& c) { return c.server.port; }, 0, 65535},
      {"server.max_concurrent_runs", [](const Config& c) { return c.server.max_concurrent_runs; },
       0, 1024},
      {"server.queue_timeout", [](const Config& c) { return c.server.queue_timeout; }, 0, 3600},
      {"server.read_timeout", [](const Config& c) { return c.server.read_timeout; }, 1, 3600},
      {"server.max_body_bytes", [](const Config& c) { return c.server.max_body_bytes; }, 1024,
       1L << 30},
      {"server.max_pending_mb", [](const Config& c) { return c.server.max_pending_mb; }, 1,
       1 << 20},
      {"server.shutdown_grace", [](const Config& c) { return c.server.shutdown_grace; }, 0, 3600},
      {"server.threads", [](const Config& c) { return c.server.threads; }, 4, 4096},
      {"server.max_batch", [](const Config& c) { return c.server.max_batch; }, 1, 10000},
      {"server.max_tests", [](const Config& c) { return c.server.max_tests; }, 1, 10000},
      {"server.key_limits.requests_per_minute",
       [](const Config& c) { return c.server.key_limits.requests_per_minute; }, 0, 1000000},
      {"server.key_limits.concurrent_runs",
       [](const Config& c) { return c.server.key_limits.concurrent_runs; }, -1, 1024},
      {"server.key_limits.sessions", [](const Config& c) { return c.server.key_limits.sessions; },
       -1, 100000},
      {"pool.size", [](const Config& c) { return c.pool.size; }, 0, 256},
      {"sessions.max_sessions", [](const Config& c) { return c.sessions.max_sessions; }, 0, 100000},
      {"sessions.idle_timeout", [](const Config& c) { return c.sessions.idle_timeout; }, 1,
       86400 * 7},
      {"sessions.max_lifetime", [](const Config& c) { return c.sessions.max_lifetime; }, 1,
       86400 * 30},
      {"sessions.interrupt_grace", [](const Config& c) { return c.sessions.interrupt_grace; }, 0,
       600},
      {"compat.judge0.result_ttl", [](const Config& c) { return c.compat.judge0_result_ttl; }, 1,
       30 * 86400},
      {"compat.judge0.max_submissions",
       [](const Config& c) { return c.compat.judge0_max_submissions; }, 1, 1000000},
      {"compat.judge0.max_store_mb", [](const Config& c) { return c.compat.judge0_max_store_mb; },
       1, 65536},
  };
  return *table;
}

std::string node_text(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "null";
}

}  // namespace

KeyLimits Config::limits_of_key(const std::string& key_id) const {
  KeyLimits k = server.key_limits;
  if (auto it = server.key_overrides.find(key_id); it != server.key_overrides.end()) {
    const KeyOverride& o = it->second;
    k.requests_per_minute = o.requests_per_minute.value_or(k.requests_per_minute);
    k.concurrent_runs = o.concurrent_runs.value_or(k.concurrent_runs);
    k.sessions = o.sessions.value_or(k.sessions);
  }
  // Half: two keys at their limits cannot take every slot (or session) from a third.
  if (k.concurrent_runs < 0) k.concurrent_runs = std::max(1, concurrent_runs() / 2);
  if (k.sessions < 0) k.sessions = std::max(1, sessions.max_sessions / 2);
  return k;
}

bool ServerConfig::playground_on() const {
  if (playground) return *playground;
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  const std::string bare = host.size() > 2 && host.front() == '[' && host.back() == ']'
                               ? host.substr(1, host.size() - 2)
                               : host;
  return inet_pton(AF_INET6, bare.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

int Config::concurrent_runs() const {
  if (server.max_concurrent_runs > 0) return server.max_concurrent_runs;
  unsigned cores = std::thread::hardware_concurrency();
  return cores > 0 ? static_cast<int>(cores) : 1;
}

Status validate_config(const Config& c) {
  for (const auto& r : range_table()) {
    long v = r.get(c);
    if (v < r.min || v > r.max) {
      return Status::Error(std::string(r.path) + ": must be between " + std::to_string(r.min) +
                           " and " + std::to_string(r.max) + " (got " + std::to_string(v) + ")");
    }
  }
  const auto& l = c.limits;
  if (l.default_timeout > l.max_timeout)
    return Status::Error("limits.default_timeout: must not exceed limits.max_timeout");
  if (l.min_memory_mb > l.max_memory_mb)
    return Status::Error("limits.min_memory_mb: must not exceed limits.max_memory_mb");
  if (l.default_memory_mb < l.min_memory_mb || l.default_memory_mb > l.max_memory_mb)
    return Status::Error(
        "limits.default_memory_mb: must be between limits.min_memory_mb and limits.max_memory_mb");
  if (c.python.interpreter.empty() || c.python.interpreter[0] != '/')
    return Status::Error("python.interpreter: must be an absolute path (got '" +
                         c.python.interpreter + "')");
  if (!(c.sandbox.cpu_cores > 0 && c.sandbox.cpu_cores <= 1024))
    return Status::Error("sandbox.cpu_cores: must be above 0 and at most 1024");
  if (c.sandbox.root_dir.empty() || c.sandbox.root_dir[0] != '/')
    return Status::Error("sandbox.root_dir: must be an absolute path");
  if (c.sandbox.cgroup_root != "auto" && c.sandbox.cgroup_root.rfind("/sys/fs/cgroup", 0) != 0)
    return Status::Error("sandbox.cgroup_root: must be 'auto' or a path under /sys/fs/cgroup");
  for (const auto& p : c.sandbox.readonly_paths) {
    if (p.empty() || p[0] != '/' || p.find("..") != std::string::npos)
      return Status::Error("sandbox.readonly_paths: '" + p +
                           "' must be an absolute path without '..'");
  }
  for (const auto& p : c.python.module_paths) {
    if (p.empty() || p[0] != '/')
      return Status::Error("python.module_paths: '" + p + "' must be an absolute path");
  }
  for (const auto& f : c.python.figure_formats) {
    if (f != "png" && f != "svg" && f != "jpeg" && f != "pdf")
      return Status::Error("python.figure_formats: '" + f + "' is not one of png, svg, jpeg, pdf");
  }
  if (c.server.host.empty()) return Status::Error("server.host: must not be empty");
  for (const auto& [id, o] : c.server.key_overrides) {
    const std::string path = "server.key_overrides." + id + ".";
    if (o.requests_per_minute && (*o.requests_per_minute < 0 || *o.requests_per_minute > 1000000))
      return Status::Error(path + "requests_per_minute: must be between 0 and 1000000");
    if (o.concurrent_runs && (*o.concurrent_runs < -1 || *o.concurrent_runs > 1024))
      return Status::Error(path + "concurrent_runs: must be 'auto' or between 0 and 1024");
    if (o.sessions && (*o.sessions < -1 || *o.sessions > 100000))
      return Status::Error(path + "sessions: must be 'auto' or between 0 and 100000");
  }
  if (c.server.max_queue < -1 || c.server.max_queue > 100000)
    return Status::Error("server.max_queue: must be 'auto' or between 0 and 100000 (got " +
                         std::to_string(c.server.max_queue) + ")");
  if (c.server.max_pending_mb * (1L << 20) < c.server.max_body_bytes)
    return Status::Error(
        "server.max_pending_mb: must hold at least one request of "
        "server.max_body_bytes");
  if (c.sessions.default_memory_mb < l.min_memory_mb ||
      c.sessions.default_memory_mb > l.max_memory_mb)
    return Status::Error(
        "sessions.default_memory_mb: must be between limits.min_memory_mb and "
        "limits.max_memory_mb");
  for (char ch : c.sessions.replica) {
    if (!(std::islower(static_cast<unsigned char>(ch)) ||
          std::isdigit(static_cast<unsigned char>(ch)) || ch == '-'))
      return Status::Error("sessions.replica: '" + c.sessions.replica +
                           "' must be 'auto' or lowercase letters, digits and '-'");
  }
  return Status::Ok();
}

Result<Config> parse_config(const std::string& yaml_text, const std::string& source) {
  Config config;
  config.source = source;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return Status::Error("invalid YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (root.IsNull()) return config;  // an empty file keeps every default
  if (!root.IsMap()) return Status::Error("top level: must be a mapping of sections");
  for (const auto& section : root) {
    const auto name = section.first.as<std::string>();
    auto it = key_table().find(name);
    if (it == key_table().end()) return Status::Error(name + ": unknown section");
    if (section.second.IsNull()) continue;
    if (!section.second.IsMap()) return Status::Error(name + ": must be a mapping");
    // (key, value) pairs, the mappings of a dotted key's first part read one level deeper.
    std::vector<std::pair<std::string, YAML::Node>> entries;
    for (const auto& entry : section.second) {
      const auto key = entry.first.as<std::string>();
      const bool nests = std::any_of(it->second.begin(), it->second.end(), [&](const auto& k) {
        return k.first.rfind(key + ".", 0) == 0;
      });
      if (!nests) {
        entries.emplace_back(key, entry.second);
        continue;
      }
      if (entry.second.IsNull()) continue;
      if (!entry.second.IsMap()) return Status::Error(name + "." + key + ": must be a mapping");
      for (const auto& sub : entry.second)
        entries.emplace_back(key + "." + sub.first.as<std::string>(), sub.second);
    }
    for (const auto& [key, value] : entries) {
      const std::string path = name + "." + key;
      auto reader = it->second.find(key);
      if (reader == it->second.end()) return Status::Error(path + ": unknown key");
      try {
        reader->second(value, config);
      } catch (const YAML::Exception&) {
        return Status::Error(path + ": invalid value " + node_text(value) + " (line " +
                             std::to_string(value.Mark().line + 1) + ")");
      } catch (const KeyError& e) {
        return Status::Error(e.what());
      }
    }
  }
  Status status = validate_config(config);
  if (!status.ok()) return status;
  return config;
}

Result<Config> load_config(const std::string& path) {
  std::string chosen = path;
  if (chosen.empty()) {
    const char* env = std::getenv("PYRUNNER_CONFIG");
    if (env && *env) chosen = env;
  }
  if (chosen.empty()) return Config{};
  if (::access(chosen.c_str(), R_OK) != 0) {
    return Status::Sys("config: cannot read '" + chosen + "'", errno);
  }
  auto result = parse_config(read_small_file(chosen), chosen);
  if (!result.ok()) return Status::Error("config " + chosen + ": " + result.status().message());
  return result;
}

}  // namespace pyrunner
