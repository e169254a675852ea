#include "cmd/commands.h"
#include "core/pool/zygote.h"

namespace pyrunner::cmd {

void ZygoteCommand::add_to(CLI::App& parent) {
  app = parent.add_subcommand("zygote", "");  // empty description: hidden from --help
  app->add_option("--config", config_path);
  app->add_option("--channel-fd", channel_fd);
  app->add_option("--parent-pid", parent_pid);
  app->add_option("--mode", mode)->check(CLI::IsMember({"warm", "plain", "cold"}));
  app->add_option("--fault", fault);
}

int ZygoteCommand::execute() const {
  ZygoteArgs args;
  args.config_path = config_path;
  args.channel_fd = channel_fd;
  args.parent = parent_pid;
  args.mode = mode == "cold"    ? ZygoteMode::kCold
              : mode == "plain" ? ZygoteMode::kPlain
                                : ZygoteMode::kWarm;
  args.fault = fault;
  return zygote_main(args);
}

}  // namespace pyrunner::cmd
