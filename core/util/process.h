#pragma once
/// Running a trusted helper program on the host (the configured interpreter, for version
/// probes and the matplotlib font cache) with an explicit environment and a deadline.

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "core/util/status.h"

namespace pyrunner {

/// posix_spawn()s `path` with exactly `args` and `env` (a clean exec: nothing of our own
/// environment), stdin on /dev/null, each {from, to} of `fds` dup2'd to `to`, and stderr on
/// /dev/null if `quiet` (else shared with ours).
Result<pid_t> spawn_clean(const std::string& path, const std::vector<std::string>& args,
                          const std::vector<std::string>& env,
                          const std::vector<std::pair<int, int>>& fds, bool quiet);

/// Runs `args` (args[0] an absolute path) with exactly `env`, stdin and stderr on /dev/null;
/// returns its stdout once it exits, or an error if it cannot start, fails, or outlives
/// `timeout_ms` (it is then killed).
Result<std::string> capture_output(const std::vector<std::string>& args,
                                   const std::vector<std::string>& env, int timeout_ms);

}  // namespace pyrunner
