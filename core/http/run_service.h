#pragma once
/// Runs requests through admission, the pool and the executor: the one way every route that
/// runs code (POST /run, batches, grading, the drop-in APIs) gets a run, with the same limits
/// and the same accounting.

#include <atomic>
#include <chrono>
#include <functional>

#include "core/config/config.h"
#include "core/executor/executor.h"
#include "core/http/admission.h"
#include "core/http/metrics.h"
#include "core/http/route.h"
#include "core/pool/pool.h"
#include "core/util/fd.h"

namespace pyrunner {

class RunService {
 public:
  RunService(const Config& config, WarmPool& pool, Metrics& metrics);

  /// Waits for a run slot, takes a ready child and runs the request on it; a child that died
  /// before it got the request is replaced once. The watch's abort fd is the service's own
  /// (shutdown) unless the caller gives one. Failures are typed (RunAbort).
  RunOutcome run(const RunRequest& request, RunWatch watch = {});

  /// Runs `work` (a session's run) in a run slot, with the same admission, shutdown and
  /// accounting as run(); or returns why no slot was free. `watch.abort_fd` is filled in.
  RunOutcome in_slot(RunWatch& watch, const std::function<RunOutcome(const RunWatch&)>& work);
  /// A child that is done with (an ended session): killed, reaped and its cgroup removed off
  /// the caller's path.
  void retire(std::unique_ptr<ReadyChild> child) { reaper_.reap(std::move(child)); }

  /// Refuses new runs (503); in-flight ones go on.
  void start_draining() { draining_ = true; }
  bool draining() const { return draining_; }
  /// Kills the runs in flight and refuses every later one (the end of the shutdown grace).
  void abort_runs();

  const Admission& admission() const { return admission_; }
  const Executor& executor() const { return executor_; }
  WarmPool& pool() { return pool_; }

 private:
  const Config& config_;
  WarmPool& pool_;
  Metrics& metrics_;
  Reaper reaper_;  // declared before executor_, which uses it
  Executor executor_;
  Admission admission_;
  UniqueFd abort_fd_;
  std::atomic<bool> draining_{false};
};

/// The HTTP answer for a run that did not happen: 429/503 with Retry-After for overload and
/// shutdown, 499 for a client that left, 500 for our own failures (logged).
void reply_abort(const RunOutcome& outcome, HttpResponse& res);

}  // namespace pyrunner
