#pragma once
/// Runs one request end to end on a ready child: sets its memory limit, sends the code, feeds
/// stdin, collects capped output, enforces the wall-clock timeout from outside, and turns what
/// happened into a RunResult. Shared by `run` and `serve`.

#include <memory>

#include "core/config/config.h"
#include "core/executor/spawner.h"
#include "core/model/request.h"
#include "core/model/result.h"

namespace pyrunner {

class Executor {
 public:
  explicit Executor(const Config& config) : config_(config) {}

  /// Consumes `child`. `watch_fd` (optional): a client socket; if the peer hangs up, the run
  /// is killed and an error Status "client disconnected" is returned. Any non-ok Status is an
  /// internal failure, not a verdict on the program.
  Result<RunResult> run(std::unique_ptr<ReadyChild> child, const RunRequest& request,
                        int watch_fd = -1) const;

 private:
  const Config& config_;
};

}  // namespace pyrunner
