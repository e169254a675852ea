#pragma once
/// Runs one request end to end on a ready child: sets its memory limit, sends the code, feeds
/// stdin, collects capped output, enforces the wall-clock timeout from outside, and turns what
/// happened into a RunResult. Shared by `run` and `serve`.

#include <memory>

#include "core/config/config.h"
#include "core/executor/reaper.h"
#include "core/executor/spawner.h"
#include "core/model/request.h"
#include "core/model/result.h"

namespace pyrunner {

/// What may end a run early besides its own limits.
struct RunWatch {
  int client_fd = -1;  // a client socket: if the peer hangs up, the run is killed
  int abort_fd = -1;   // readable (an eventfd written at shutdown): the run is killed
};

class Executor {
 public:
  /// `reaper` (optional): where finished runs are killed, reaped and cleaned up off the
  /// request path; without one that happens before run() returns.
  explicit Executor(const Config& config, Reaper* reaper = nullptr)
      : config_(config), reaper_(reaper) {}

  /// Consumes `child`. A non-ok Status is not a verdict on the program: an internal failure,
  /// or the run was cut short by `watch` ("client disconnected", "server shutting down").
  Result<RunResult> run(std::unique_ptr<ReadyChild> child, const RunRequest& request,
                        RunWatch watch = {}) const;

 private:
  const Config& config_;
  Reaper* reaper_;
};

}  // namespace pyrunner
