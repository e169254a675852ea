#include "core/config/config.h"

#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "support/harness.h"

using pyrunner::Config;
using pyrunner::parse_config;

namespace {

// Every key of the documented file with a value unlike its default (and valid).
constexpr const char* kEveryKeyChanged = R"Y(
limits:
  default_timeout: 17
  max_timeout: 170
  default_memory_mb: 300
  min_memory_mb: 100
  max_memory_mb: 900
  max_output_bytes: 4096
  max_code_bytes: 8192
  max_stdin_bytes: 16384
  max_files: 7
  max_file_inline_bytes: 1000
  max_files_inline_bytes: 5000
  max_results_bytes: 6000
python:
  interpreter: /opt/python/bin/python3
  module_paths: [/opt/lib/a, /opt/lib/b]
  preload: [numpy, json]
  figure_formats: [svg, png]
  figure_dpi: 72
  report_libraries: [tqdm]
sandbox:
  tmp_size_mb: 12
  workdir_size_mb: 13
  pids_max: 9
  cpu_cores: 0.5
  max_open_files: 77
  max_file_size_mb: 3
  uid: 1001
  gid: 1002
  cgroup_root: /sys/fs/cgroup/custom
  allow_degraded: true
  root_dir: /srv/pyrunner/root
  readonly_paths: [/usr, /opt/data]
policy:
  enabled: false
  allowed_modules: [math]
  denied_builtins: [open]
server:
  host: 0.0.0.0
  port: 9123
  max_concurrent_runs: 3
  max_queue: 5
  queue_timeout: 4
  read_timeout: 6
  max_body_bytes: 65536
  max_pending_mb: 64
  cors_origins: [https://a.example, https://b.example]
  shutdown_grace: 2
  threads: 8
  max_batch: 7
  max_tests: 9
  api_keys_file: /etc/pyrunner/keys
  key_limits:
    requests_per_minute: 120
    concurrent_runs: 3
    sessions: 4
  key_overrides:
    1a2b3c4d: {requests_per_minute: 0, concurrent_runs: auto}
  playground: true
pool:
  enabled: false
  size: 1
sessions:
  max_sessions: 5
  idle_timeout: 30
  max_lifetime: 40
  default_memory_mb: 200
  interrupt_grace: 4
  replica: east-1
compat:
  judge0:
    enabled: false
    result_ttl: 60
    max_submissions: 5
    max_store_mb: 7
  piston:
    enabled: false
)Y";

// "section.key" for every key of a YAML config text.
std::set<std::string> key_paths(const std::string& yaml) {
  std::set<std::string> paths;
  for (const auto& section : YAML::Load(yaml)) {
    for (const auto& key : section.second) {
      const std::string path = section.first.as<std::string>() + "." + key.first.as<std::string>();
      // server.key_overrides is keyed by key ids, which are not config keys.
      if (!key.second.IsMap() || path == "server.key_overrides") {
        paths.insert(path);
        continue;
      }
      for (const auto& sub : key.second) paths.insert(path + "." + sub.first.as<std::string>());
    }
  }
  return paths;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string rejection(const std::string& yaml) {
  auto result = parse_config(yaml, "test.yaml");
  REQUIRE_FALSE(result.ok());
  return result.status().message();
}

}  // namespace

TEST_CASE("the documented default config equals the built-in defaults", "[config]") {
  std::ifstream in(pyrunner::testing::source_path("config/pyrunner.yaml"));
  std::stringstream text;
  text << in.rdbuf();
  auto loaded = parse_config(text.str(), "config/pyrunner.yaml");
  REQUIRE(loaded.ok());
  const Config defaults;
  const Config& c = loaded.value();
  CHECK(c.limits.default_timeout == defaults.limits.default_timeout);
  CHECK(c.limits.max_timeout == defaults.limits.max_timeout);
  CHECK(c.limits.default_memory_mb == defaults.limits.default_memory_mb);
  CHECK(c.limits.min_memory_mb == defaults.limits.min_memory_mb);
  CHECK(c.limits.max_memory_mb == defaults.limits.max_memory_mb);
  CHECK(c.limits.max_output_bytes == defaults.limits.max_output_bytes);
  CHECK(c.limits.max_code_bytes == defaults.limits.max_code_bytes);
  CHECK(c.limits.max_stdin_bytes == defaults.limits.max_stdin_bytes);
  CHECK(c.python.interpreter == defaults.python.interpreter);
  CHECK(c.python.module_paths == defaults.python.module_paths);
  CHECK(c.python.preload == defaults.python.preload);
  CHECK(c.python.report_libraries == defaults.python.report_libraries);
  CHECK(c.sandbox.tmp_size_mb == defaults.sandbox.tmp_size_mb);
  CHECK(c.sandbox.pids_max == defaults.sandbox.pids_max);
  CHECK(c.sandbox.cpu_cores == defaults.sandbox.cpu_cores);
  CHECK(c.sandbox.max_open_files == defaults.sandbox.max_open_files);
  CHECK(c.sandbox.max_file_size_mb == defaults.sandbox.max_file_size_mb);
  CHECK(c.sandbox.uid == defaults.sandbox.uid);
  CHECK(c.sandbox.gid == defaults.sandbox.gid);
  CHECK(c.sandbox.cgroup_root == defaults.sandbox.cgroup_root);
  CHECK(c.sandbox.allow_degraded == defaults.sandbox.allow_degraded);
  CHECK(c.sandbox.root_dir == defaults.sandbox.root_dir);
  CHECK(c.sandbox.readonly_paths == defaults.sandbox.readonly_paths);
  CHECK(c.policy.enabled == defaults.policy.enabled);
  CHECK(c.policy.allowed_modules == defaults.policy.allowed_modules);
  CHECK(c.policy.denied_builtins == defaults.policy.denied_builtins);
  CHECK(c.server.host == defaults.server.host);
  CHECK(c.server.port == defaults.server.port);
  CHECK(c.server.max_concurrent_runs == defaults.server.max_concurrent_runs);
  CHECK(c.server.max_queue == defaults.server.max_queue);
  CHECK(c.server.queue_timeout == defaults.server.queue_timeout);
  CHECK(c.server.read_timeout == defaults.server.read_timeout);
  CHECK(c.server.max_body_bytes == defaults.server.max_body_bytes);
  CHECK(c.server.max_pending_mb == defaults.server.max_pending_mb);
  CHECK(c.server.cors_origins == defaults.server.cors_origins);
  CHECK(c.server.shutdown_grace == defaults.server.shutdown_grace);
  CHECK(c.server.threads == defaults.server.threads);
  CHECK(c.server.max_batch == defaults.server.max_batch);
  CHECK(c.server.max_tests == defaults.server.max_tests);
  CHECK(c.server.playground == defaults.server.playground);
  CHECK(c.pool.enabled == defaults.pool.enabled);
  CHECK(c.pool.size == defaults.pool.size);
}

TEST_CASE("every key is read into its own field", "[config]") {
  // A key added to config/pyrunner.yaml must be added here too, with a changed value.
  CHECK(key_paths(kEveryKeyChanged) ==
        key_paths(read_file(pyrunner::testing::source_path("config/pyrunner.yaml"))));
  auto loaded = parse_config(kEveryKeyChanged, "changed.yaml");
  INFO(loaded.status().message());
  REQUIRE(loaded.ok());
  const Config& c = loaded.value();
  using Strings = std::vector<std::string>;
  CHECK(c.limits.default_timeout == 17);
  CHECK(c.limits.max_timeout == 170);
  CHECK(c.limits.default_memory_mb == 300);
  CHECK(c.limits.min_memory_mb == 100);
  CHECK(c.limits.max_memory_mb == 900);
  CHECK(c.limits.max_output_bytes == 4096);
  CHECK(c.limits.max_code_bytes == 8192);
  CHECK(c.limits.max_stdin_bytes == 16384);
  CHECK(c.limits.max_files == 7);
  CHECK(c.limits.max_file_inline_bytes == 1000);
  CHECK(c.limits.max_files_inline_bytes == 5000);
  CHECK(c.limits.max_results_bytes == 6000);
  CHECK(c.python.interpreter == "/opt/python/bin/python3");
  CHECK(c.python.module_paths == Strings{"/opt/lib/a", "/opt/lib/b"});
  CHECK(c.python.preload == Strings{"numpy", "json"});
  CHECK(c.python.figure_formats == Strings{"svg", "png"});
  CHECK(c.python.figure_dpi == 72);
  CHECK(c.python.report_libraries == Strings{"tqdm"});
  CHECK(c.sandbox.tmp_size_mb == 12);
  CHECK(c.sandbox.workdir_size_mb == 13);
  CHECK(c.sandbox.pids_max == 9);
  CHECK(c.sandbox.cpu_cores == 0.5);
  CHECK(c.sandbox.max_open_files == 77);
  CHECK(c.sandbox.max_file_size_mb == 3);
  CHECK(c.sandbox.uid == 1001);
  CHECK(c.sandbox.gid == 1002);
  CHECK(c.sandbox.cgroup_root == "/sys/fs/cgroup/custom");
  CHECK(c.sandbox.allow_degraded == true);
  CHECK(c.sandbox.root_dir == "/srv/pyrunner/root");
  CHECK(c.sandbox.readonly_paths == Strings{"/usr", "/opt/data"});
  CHECK(c.policy.enabled == false);
  CHECK(c.policy.allowed_modules == Strings{"math"});
  CHECK(c.policy.denied_builtins == Strings{"open"});
  CHECK(c.server.host == "0.0.0.0");
  CHECK(c.server.port == 9123);
  CHECK(c.server.max_concurrent_runs == 3);
  CHECK(c.server.max_queue == 5);
  CHECK(c.server.queue_timeout == 4);
  CHECK(c.server.read_timeout == 6);
  CHECK(c.server.max_body_bytes == 65536);
  CHECK(c.server.max_pending_mb == 64);
  CHECK(c.server.cors_origins == Strings{"https://a.example", "https://b.example"});
  CHECK(c.server.shutdown_grace == 2);
  CHECK(c.server.threads == 8);
  CHECK(c.server.max_batch == 7);
  CHECK(c.server.max_tests == 9);
  CHECK(c.server.api_keys_file == "/etc/pyrunner/keys");
  CHECK(c.server.key_limits.requests_per_minute == 120);
  CHECK(c.server.key_limits.concurrent_runs == 3);
  CHECK(c.server.key_limits.sessions == 4);
  REQUIRE(c.server.key_overrides.count("1a2b3c4d") == 1);
  CHECK(c.server.key_overrides.at("1a2b3c4d").requests_per_minute == 0);
  CHECK(c.server.key_overrides.at("1a2b3c4d").concurrent_runs == -1);
  CHECK_FALSE(c.server.key_overrides.at("1a2b3c4d").sessions.has_value());
  CHECK(c.server.playground == true);
  CHECK(c.pool.enabled == false);
  CHECK(c.pool.size == 1);
  CHECK(c.sessions.max_sessions == 5);
  CHECK(c.sessions.idle_timeout == 30);
  CHECK(c.sessions.max_lifetime == 40);
  CHECK(c.sessions.default_memory_mb == 200);
  CHECK(c.sessions.interrupt_grace == 4);
  CHECK(c.sessions.replica == "east-1");
  CHECK_FALSE(c.compat.judge0_enabled);
  CHECK(c.compat.judge0_result_ttl == 60);
  CHECK(c.compat.judge0_max_submissions == 5);
  CHECK(c.compat.judge0_max_store_mb == 7);
  CHECK_FALSE(c.compat.piston_enabled);
  CHECK(c.source == "changed.yaml");
}

TEST_CASE("an empty config keeps every default", "[config]") {
  auto c = parse_config("", "empty.yaml");
  REQUIRE(c.ok());
  CHECK(c->limits.max_timeout == 300);
  CHECK(c->source == "empty.yaml");
}

TEST_CASE("server.max_queue is auto by default, or a number", "[config]") {
  CHECK(Config{}.server.max_queue == -1);
  auto c = parse_config("server:\n  max_queue: auto\n", "x");
  REQUIRE(c.ok());
  CHECK(c->server.max_queue == -1);
  c = parse_config("server:\n  max_queue: 0\n", "x");
  REQUIRE(c.ok());
  CHECK(c->server.max_queue == 0);
}

TEST_CASE("server.playground: auto is on for a loopback host only, or true or false", "[config]") {
  CHECK_FALSE(Config{}.server.playground.has_value());
  CHECK(Config{}.server.playground_on());  // the default host is 127.0.0.1
  pyrunner::ServerConfig server;
  for (const char* host : {"127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"}) {
    INFO(host);
    server.host = host;
    CHECK(server.playground_on());
  }
  for (const char* host : {"0.0.0.0", "::", "10.0.0.5", "128.0.0.1", "pyrunner.example", "::2"}) {
    INFO(host);
    server.host = host;
    CHECK_FALSE(server.playground_on());
  }
  auto c = parse_config("server:\n  host: 0.0.0.0\n  playground: true\n", "x");
  REQUIRE(c.ok());
  CHECK(c->server.playground_on());
  c = parse_config("server:\n  playground: false\n", "x");
  REQUIRE(c.ok());
  CHECK_FALSE(c->server.playground_on());
  c = parse_config("server:\n  host: 0.0.0.0\n  playground: auto\n", "x");
  REQUIRE(c.ok());
  CHECK_FALSE(c->server.playground.has_value());
  CHECK_FALSE(c->server.playground_on());
  CHECK(rejection("server:\n  playground: maybe\n") ==
        "server.playground: invalid value 'maybe' (line 2)");
}

TEST_CASE("values are read into their keys", "[config]") {
  auto c = parse_config("limits:\n  max_timeout: 60\npolicy:\n  enabled: false\npool:\n  size: 2\n",
                        "x");
  REQUIRE(c.ok());
  CHECK(c->limits.max_timeout == 60);
  CHECK_FALSE(c->policy.enabled);
  CHECK(c->pool.size == 2);
}

TEST_CASE("config rejections name the key and the reason", "[config]") {
  CHECK(rejection("limit:\n  max_timeout: 5\n") == "limit: unknown section");
  CHECK(rejection("limits:\n  max_timout: 5\n") == "limits.max_timout: unknown key");
  CHECK(rejection("limits:\n  max_timeout: soon\n") ==
        "limits.max_timeout: invalid value 'soon' (line 2)");
  CHECK(rejection("limits:\n  max_timeout: 0\n") ==
        "limits.max_timeout: must be between 1 and 3600 (got 0)");
  CHECK(rejection("limits:\n  default_timeout: 100\n  max_timeout: 50\n") ==
        "limits.default_timeout: must not exceed limits.max_timeout");
  CHECK(rejection("limits:\n  min_memory_mb: 600\n") ==
        "limits.default_memory_mb: must be between limits.min_memory_mb and limits.max_memory_mb");
  CHECK(rejection("policy:\n  enabled: maybe\n") ==
        "policy.enabled: invalid value 'maybe' (line 2)");
  CHECK(rejection("python:\n  interpreter: python3\n") ==
        "python.interpreter: must be an absolute path (got 'python3')");
  CHECK(rejection("sandbox:\n  readonly_paths: [/usr/../etc]\n") ==
        "sandbox.readonly_paths: '/usr/../etc' must be an absolute path without '..'");
  CHECK(rejection("sandbox:\n  cgroup_root: /tmp/x\n") ==
        "sandbox.cgroup_root: must be 'auto' or a path under /sys/fs/cgroup");
  CHECK(rejection("sandbox:\n  cpu_cores: 0\n") ==
        "sandbox.cpu_cores: must be above 0 and at most 1024");
  CHECK(rejection("server:\n  port: 70000\n") ==
        "server.port: must be between 0 and 65535 (got 70000)");
  CHECK(rejection("server:\n  max_queue: soon\n") ==
        "server.max_queue: invalid value 'soon' (line 2)");
  CHECK(rejection("server:\n  max_queue: -5\n") ==
        "server.max_queue: must be 'auto' or between 0 and 100000 (got -5)");
  CHECK(rejection("server:\n  read_timeout: 0\n") ==
        "server.read_timeout: must be between 1 and 3600 (got 0)");
  CHECK(rejection("server:\n  max_pending_mb: 5\n") ==
        "server.max_pending_mb: must hold at least one request of server.max_body_bytes");
  CHECK(rejection("pool: [1, 2]\n") == "pool: must be a mapping");
  CHECK(rejection("compat:\n  judge0:\n    enabeld: true\n") ==
        "compat.judge0.enabeld: unknown key");
  CHECK(rejection("compat:\n  judge0: 1\n") == "compat.judge0: must be a mapping");
  CHECK(rejection("compat:\n  judge1:\n    enabled: true\n") == "compat.judge1: unknown key");
  CHECK(rejection("- a\n- b\n") == "top level: must be a mapping of sections");
  CHECK(rejection("limits: {max_timeout: [1\n").rfind("invalid YAML at line", 0) == 0);
}

TEST_CASE("load_config reports an unreadable file", "[config]") {
  auto c = pyrunner::load_config("/nonexistent/pyrunner.yaml");
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message() ==
        "config: cannot read '/nonexistent/pyrunner.yaml': ENOENT (No such file or directory)");
}

TEST_CASE("per-key limits: defaults, auto, overrides and their rejections", "[config]") {
  const Config defaults;
  CHECK(defaults.server.api_keys_file.empty());
  CHECK(defaults.server.key_limits.requests_per_minute == 600);
  CHECK(defaults.server.key_limits.concurrent_runs == -1);
  CHECK(defaults.server.key_limits.sessions == -1);

  auto c = parse_config(R"(
server:
  max_concurrent_runs: 6
  key_limits: {concurrent_runs: auto, sessions: auto}
  key_overrides:
    0badc0de: {concurrent_runs: 5, requests_per_minute: 60}
sessions: {max_sessions: 10}
)",
                        "keys.yaml");
  INFO(c.status().message());
  REQUIRE(c.ok());
  // auto: half the run slots and half the sessions, so that two keys cannot take them all.
  const auto plain = c->limits_of_key("12345678");
  CHECK(plain.concurrent_runs == 3);
  CHECK(plain.sessions == 5);
  CHECK(plain.requests_per_minute == 600);
  const auto special = c->limits_of_key("0badc0de");
  CHECK(special.concurrent_runs == 5);
  CHECK(special.requests_per_minute == 60);
  CHECK(special.sessions == 5);  // not overridden: the default's
  // One slot: a key still gets one.
  auto one = parse_config("server: {max_concurrent_runs: 1}\nsessions: {max_sessions: 1}\n", "one");
  REQUIRE(one.ok());
  CHECK(one->limits_of_key("12345678").concurrent_runs == 1);
  CHECK(one->limits_of_key("12345678").sessions == 1);

  CHECK(rejection("server: {key_limits: {burst: 3}}") == "server.key_limits.burst: unknown key");
  CHECK(rejection("server: {key_limits: {requests_per_minute: -1}}") ==
        "server.key_limits.requests_per_minute: must be between 0 and 1000000 (got -1)");
  CHECK(rejection("server: {key_limits: {concurrent_runs: many}}")
            .rfind("server.key_limits.concurrent_runs: invalid value 'many'", 0) == 0);
  CHECK(rejection("server: {key_overrides: {ABCDEF12: {sessions: 1}}}") ==
        "server.key_overrides.ABCDEF12: a key id is the first 8 hex digits (lowercase) of its "
        "SHA-256");
  CHECK(rejection("server: {key_overrides: {abcdef12: {session: 1}}}") ==
        "server.key_overrides.abcdef12.session: unknown key");
  CHECK(rejection("server: {key_overrides: {abcdef12: {sessions: x}}}")
            .rfind("server.key_overrides.abcdef12.sessions: invalid value x", 0) == 0);
  CHECK(rejection("server: {key_overrides: {abcdef12: {concurrent_runs: 5000}}}") ==
        "server.key_overrides.abcdef12.concurrent_runs: must be 'auto' or between 0 and 1024");
  CHECK(rejection("server: {key_overrides: [abcdef12]}") ==
        "server.key_overrides: must be a mapping of key ids to limits");
}
