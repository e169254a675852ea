#pragma once
// Each subcommand is a struct that owns its options, registers itself, and runs. No logic
// here beyond parsing flags: everything else is a call into core/.

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/grading/test_command.h"

namespace pyrunner::cmd {

struct RunCommand {
  std::string config_path;
  std::string script;
  std::string stdin_path;
  // Text, read by the validator with the same rules as the JSON fields (2.0 is 2, 2.5 is not).
  std::optional<std::string> timeout;
  std::optional<std::string> memory_limit;
  std::vector<std::string> args;   // the program's sys.argv[1:]
  std::vector<std::string> files;  // SRC[:DEST]
  std::string output_dir;
  CLI::App* app = nullptr;

  void add_to(CLI::App& parent);
  int execute() const;
};

struct ServeCommand {
  std::string config_path;
  std::optional<std::string> host;
  std::optional<int> port;
  std::optional<bool> pool;
  CLI::App* app = nullptr;

  void add_to(CLI::App& parent);
  int execute() const;
};

/// `pyrunner mcp`: MCP over stdio (core/mcp/stdio.h); `serve` offers the same at /mcp.
struct McpCommand {
  std::string config_path;
  std::optional<bool> pool;
  CLI::App* app = nullptr;

  void add_to(CLI::App& parent);
  int execute() const;
};

/// `pyrunner test SOLUTION CASES`: grading from the command line (core/grading/test_command.h).
struct TestCommand {
  grading::TestOptions options;
  CLI::App* app = nullptr;

  void add_to(CLI::App& parent);
  int execute() const;
};

/// Internal: the warm zygote, started by `serve` from a clean exec. Not for people.
struct ZygoteCommand {
  std::string config_path;
  int channel_fd = 3;
  int parent_pid = 0;
  std::string mode = "warm";
  std::string fault;
  CLI::App* app = nullptr;

  void add_to(CLI::App& parent);
  int execute() const;
};

}  // namespace pyrunner::cmd
