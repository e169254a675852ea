#include <cstdio>
#include <exception>

#include "cmd/commands.h"
#include "core/model/outcome.h"
#include "version.h"

int main(int argc, char** argv) {
  using namespace pyrunner;
  CLI::App app{"pyrunner: run untrusted Python in a kernel sandbox, from the CLI or over HTTP"};
  app.set_version_flag("--version", std::string("pyrunner ") + kVersion);
  app.require_subcommand(1, 1);
  cmd::RunCommand run;
  cmd::ServeCommand serve;
  cmd::TestCommand test;
  cmd::McpCommand mcp;
  cmd::ZygoteCommand zygote;
  run.add_to(app);
  serve.add_to(app);
  test.add_to(app);
  mcp.add_to(app);
  zygote.add_to(app);
  zygote.app->group("");  // internal (started by serve): not listed in --help
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : exit_code::kUsage;
  }
  // The one catch funnel: anything thrown past core/ is our bug, reported as such.
  try {
    if (run.app->parsed()) return run.execute();
    if (serve.app->parsed()) return serve.execute();
    if (test.app->parsed()) return test.execute();
    if (mcp.app->parsed()) return mcp.execute();
    if (zygote.app->parsed()) return zygote.execute();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pyrunner: internal error: %s\n", e.what());
    return exit_code::kInternal;
  }
  return exit_code::kUsage;
}
