#include "cmd/commands.h"
#include "core/http/server.h"
#include "core/model/outcome.h"

namespace pyrunner::cmd {

void ServeCommand::add_to(CLI::App& parent) {
  app = parent.add_subcommand("serve",
                              "Serve the HTTP API (POST /run, GET /, /openapi.json, /metrics)");
  app->add_option("--host", host, "Bind address (default from the config: 127.0.0.1)");
  app->add_option("--port", port, "Port (default from the config: 8000; 0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  app->add_option("--pool", pool, "Warm pool on or off (default from the config)");
  app->add_option("--config", config_path,
                  "YAML config (default: $PYRUNNER_CONFIG, else built-in)");
}

int ServeCommand::execute() const {
  auto config = load_config(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "pyrunner: %s\n", config.status().message().c_str());
    return exit_code::kConfig;
  }
  if (host) config->server.host = *host;
  if (port) config->server.port = *port;
  if (pool) config->pool.enabled = *pool;
  return serve_forever(*config);
}

}  // namespace pyrunner::cmd
