#pragma once
/// Runs requests through admission, the pool and the executor: the one way every route that
/// runs code (POST /run, batches, grading, the drop-in APIs) gets a run, with the same limits
/// and the same accounting.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

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
  /// Stops the background threads (run_later); jobs still waiting run with every run refused.
  ~RunService();

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
  /// Runs `job` later on one of the service's own threads (as many as the run slots), for
  /// runs a client does not wait for (Judge0's wait=false): the job calls run() as a request
  /// would. False, and `job` dropped, when `max_waiting` jobs already wait.
  bool run_later(std::function<void()> job, size_t max_waiting);

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
  // run_later's jobs and the threads that run them (started on first use).
  std::mutex later_mutex_;
  std::condition_variable later_ready_;
  std::deque<std::function<void()>> later_;
  std::vector<std::thread> later_threads_;
  bool later_stop_ = false;
};

/// What watches a run for `req`: its client's socket (a hang-up kills the run) and its
/// arrival (the wait for a slot counts from there).
RunWatch watch_of(const HttpRequest& req);

/// The HTTP answer for a run that did not happen: 429/503 with Retry-After for overload and
/// shutdown, 499 for a client that left, 500 for our own failures (logged).
void reply_abort(const RunOutcome& outcome, HttpResponse& res);

}  // namespace pyrunner
