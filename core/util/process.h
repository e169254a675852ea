#pragma once
/// Running a trusted helper program on the host (the configured interpreter, for version
/// probes and the matplotlib font cache) with an explicit environment and a deadline.

#include <string>
#include <vector>

#include "core/util/status.h"

namespace pyrunner {

/// Runs `args` (args[0] an absolute path) with exactly `env`, stdin and stderr on /dev/null;
/// returns its stdout once it exits, or an error if it cannot start, fails, or outlives
/// `timeout_ms` (it is then killed).
Result<std::string> capture_output(const std::vector<std::string>& args,
                                   const std::vector<std::string>& env, int timeout_ms);

}  // namespace pyrunner
