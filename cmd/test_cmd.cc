#include "cmd/commands.h"
#include "core/grading/test_command.h"

namespace pyrunner::cmd {

void TestCommand::add_to(CLI::App& parent) {
  app = parent.add_subcommand(
      "test", "Run a solution against test cases, judge each output, report (table, JSON, JUnit)");
  app->add_option("solution", options.solution, "Python file to test")->required();
  app->add_option("cases", options.cases,
                  "YAML or JSON list of tests, or a directory of NAME.in with NAME.out (or .ans)")
      ->required();
  app->add_option("--junit", options.junit_path, "Also write a JUnit XML report to FILE")
      ->type_name("FILE");
  app->add_flag("--json", options.json, "Print the report as JSON (as POST /grade answers)");
  app->add_option("--compare", options.compare, "How outputs are compared (default trim)")
      ->check(CLI::IsMember({"trim", "exact", "tokens", "numbers"}));
  app->add_option("--timeout", options.timeout, "Seconds per case (default from the config)");
  app->add_option("--memory-limit", options.memory_limit, "MB per case (default from the config)");
  app->add_option("--jobs", options.jobs, "Cases run at once (default: the CPU cores)")
      ->check(CLI::Range(1, 256));
  app->add_option("--pool", options.pool,
                  "auto: a warm zygote of its own from " + std::to_string(grading::kWarmMinCases) +
                      " cases on (default); warm; cold: a fresh interpreter per case")
      ->check(CLI::IsMember({"auto", "warm", "cold"}));
  app->add_option("--config", options.config_path,
                  "YAML config (default: $PYRUNNER_CONFIG, else built-in)");
}

int TestCommand::execute() const { return grading::test_main(options); }

}  // namespace pyrunner::cmd
