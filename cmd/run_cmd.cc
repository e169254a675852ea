#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cmd/commands.h"
#include "core/executor/executor.h"
#include "core/files/output_dir.h"
#include "core/model/outcome.h"
#include "core/sandbox/host.h"
#include "core/validator/validator.h"

namespace pyrunner::cmd {
namespace {

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "pyrunner: %s\n", message.c_str());
  return code;
}

bool read_all(const std::string& path, std::string* out) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    *out = ss.str();
    return !std::cin.bad();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

void RunCommand::add_to(CLI::App& parent) {
  app = parent.add_subcommand("run", "Run a script once in the sandbox and print one JSON result");
  app->add_option("script", script, "Python file to run, or - for code on stdin")->required();
  app->add_option("args", args, "Arguments the program gets in sys.argv[1:] (after --)");
  app->add_option("--timeout", timeout, "Wall-clock limit in seconds (default from the config)")
      ->type_name("INT");
  app->add_option("--memory-limit", memory_limit, "Memory limit in MB (default from the config)")
      ->type_name("INT");
  app->add_option("--stdin", stdin_path, "File whose contents the program reads on stdin");
  app->add_option("--file", files,
                  "Copy a host file into the working directory as DEST (default: its name); "
                  "repeatable")
      ->type_name("SRC[:DEST]");
  app->add_option("--output-dir", output_dir,
                  "Save the files the run wrote and its figures (figure-1.png, ...) here");
  app->add_option("--config", config_path,
                  "YAML config (default: $PYRUNNER_CONFIG, else built-in)");
}

int RunCommand::execute() const {
  auto config = load_config(config_path);
  if (!config.ok()) return fail(exit_code::kConfig, config.status().message());

  RequestValidator validator(config->limits);
  RunRequest request = validator.with_defaults("");
  if (!read_all(script, &request.code))
    return fail(exit_code::kNoInput, "cannot read script '" + script + "'");
  if (!stdin_path.empty() && !read_all(stdin_path, &request.stdin_data))
    return fail(exit_code::kNoInput, "cannot read --stdin file '" + stdin_path + "'");
  for (const auto& [field, text] :
       {std::pair{"timeout", timeout}, {"memory_limit", memory_limit}}) {
    if (!text) continue;
    if (auto error = validator.read_limit_flag(field, *text, &request))
      return fail(exit_code::kInvalidInput, error->detail);
  }
  // Tracebacks name the script as python3 would ("<stdin>" keeps the runner's main.py).
  if (script != "-") request.filename = script.substr(script.rfind('/') + 1);
  for (const auto& spec : files) {
    const auto colon = spec.find(':');
    InputFile file;
    const std::string source = spec.substr(0, colon);
    file.path =
        colon == std::string::npos ? source.substr(source.rfind('/') + 1) : spec.substr(colon + 1);
    if (!read_all(source, &file.content))
      return fail(exit_code::kNoInput, "cannot read --file '" + source + "'");
    request.files.push_back(std::move(file));
  }
  request.whole_files = !output_dir.empty();
  request.args = args;
  if (auto error = validator.check(request)) {
    return fail(exit_code::kInvalidInput, error->detail);
  }

  auto host = sandbox::prepare_host(*config);
  if (!host.ok()) return fail(exit_code::kUnavailable, host.status().message());
  if (host->degraded)
    std::fprintf(stderr, "pyrunner: warning: running without cgroups: %s\n",
                 host->cgroup_text.c_str());
  ::signal(SIGPIPE, SIG_IGN);  // a program that closes its stdin must not kill us

  DirectSpawner spawner(ChildSpec{&host->plan, &config.value(), nullptr});
  auto child = prepare_child(spawner, host->cgroups.get());
  if (!child.ok()) return fail(exit_code::kUnavailable, child.status().message());
  auto result = Executor(*config).run(std::move(child.value()), request);
  if (!result.ok()) return fail(exit_code::kInternal, result.status().message());
  if (!output_dir.empty()) {
    if (auto s = save_outputs(output_dir, &result.value()); !s.ok())
      return fail(exit_code::kCantCreate, s.message());
  }
  std::cout << result_to_json(result.value()) << std::endl;
  return outcome_exit_code(result->outcome);
}

}  // namespace pyrunner::cmd
