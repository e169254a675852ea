#pragma once
/// Running a trusted helper program on the host (the configured interpreter, for version
/// probes and the matplotlib font cache) with an explicit environment and a deadline.

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "core/util/status.h"

namespace pyrunner {

/// How a process ended.
struct ExitStatus {
  bool killed = false;  // by a signal
  int code = 0;         // its exit code, when not killed
  int signal = 0;       // the signal, when killed
};

/// SIGKILL through a pidfd (no pid reuse race). False, errno set, if it could not be sent.
bool kill_by_pidfd(int pidfd);
/// Waits for the process of `pidfd` to end and reaps it.
Result<ExitStatus> wait_pidfd(int pidfd);
/// Both: kills it if still alive and reaps it (best effort; for destructors).
void kill_and_reap(int pidfd);

/// posix_spawn()s `path` with exactly `args` and `env` (a clean exec: nothing of our own
/// environment, no blocked signals, every signal at its default), stdin on /dev/null, each
/// {from, to} of `fds` dup2'd to `to`, and stderr on /dev/null if `quiet` (else shared with
/// ours).
Result<pid_t> spawn_clean(const std::string& path, const std::vector<std::string>& args,
                          const std::vector<std::string>& env,
                          const std::vector<std::pair<int, int>>& fds, bool quiet);

/// Runs `args` (args[0] an absolute path) with exactly `env`, stdin and stderr on /dev/null;
/// returns its stdout once it exits, or an error if it cannot start, fails, or outlives
/// `timeout_ms` (it is then killed).
Result<std::string> capture_output(const std::vector<std::string>& args,
                                   const std::vector<std::string>& env, int timeout_ms);

}  // namespace pyrunner
