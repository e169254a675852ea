#include "cmd/commands.h"
#include "core/pool/zygote.h"

namespace pyrunner::cmd {

void ZygoteCommand::add_to(CLI::App& parent) {
  app = parent.add_subcommand("zygote", "");  // empty description: hidden from --help
  app->add_option("--config", config_path);
  app->add_option("--channel-fd", channel_fd);
  app->add_option("--parent-pid", parent_pid);
  app->add_flag("--cold", cold);
}

int ZygoteCommand::execute() const {
  return zygote_main(config_path, channel_fd, cold, parent_pid);
}

}  // namespace pyrunner::cmd
