#include "cmd/commands.h"
#include "core/mcp/stdio.h"
#include "core/model/outcome.h"

namespace pyrunner::cmd {

void McpCommand::add_to(CLI::App& parent) {
  app = parent.add_subcommand(
      "mcp",
      "Serve MCP (Model Context Protocol) over stdio: tools run_python, reset, list_files, "
      "read_file for an LLM client that starts pyrunner itself");
  app->add_option("--pool", pool, "Warm pool on or off (default from the config)");
  app->add_option("--config", config_path,
                  "YAML config (default: $PYRUNNER_CONFIG, else built-in)");
}

int McpCommand::execute() const {
  auto config = load_config(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "pyrunner: %s\n", config.status().message().c_str());
    return exit_code::kConfig;
  }
  if (pool) config->pool.enabled = *pool;
  return mcp::serve_stdio(*config);
}

}  // namespace pyrunner::cmd
