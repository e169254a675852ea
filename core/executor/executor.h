#pragma once
/// Runs one request end to end on a ready child: sets its memory limit, sends the request,
/// feeds stdin, collects capped output and the runner's messages, enforces the wall-clock
/// timeout from outside, and turns what happened into a RunResult. Shared by `run` and
/// `serve`.

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/config/config.h"
#include "core/executor/reaper.h"
#include "core/executor/spawner.h"
#include "core/model/request.h"
#include "core/model/result.h"

namespace pyrunner {

/// Receives a run's output as it happens (for streaming), on the executor's thread: the bytes
/// kept within the output caps, and the display items kept within theirs (what the result
/// will hold, in the order it arrived).
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  /// The child has the request: the run is under way (nothing was refused).
  virtual void on_start() {}
  virtual void on_stdout(std::string_view text) { (void)text; }
  virtual void on_stderr(std::string_view text) { (void)text; }
  virtual void on_display(const nlohmann::ordered_json& item) { (void)item; }
};

class ApiKey;  // core/access/keys.h

/// What may end a run early besides its own limits, and who watches it.
struct RunWatch {
  int client_fd = -1;  // a client socket: if the peer hangs up, the run is killed
  int abort_fd = -1;   // readable (an eventfd written at shutdown): the run is killed
  int cancel_fd = -1;  // readable: whoever streams the output has lost its client (kClientGone)
  // Readable (an eventfd the client's interrupt writes): stop this run now, as at its deadline.
  // A session's run gets a KeyboardInterrupt and is killed only if it is still going
  // sessions.interrupt_grace later; a one-off run is killed. Either way the result is an
  // `error` "Interrupted by the client", never a timeout. Polled only when set.
  int interrupt_fd = -1;
  RunObserver* observer = nullptr;
  // When the request arrived: its wait for a run slot (server.queue_timeout) counts from
  // there. Unset: from when it asks.
  std::chrono::steady_clock::time_point arrived{};
  // Whose run it is: it counts against the key's concurrent_runs (null: no keys).
  ApiKey* key = nullptr;
};

/// Why a run produced no result. Not a verdict on the program.
enum class RunAbort {
  kNotDelivered,  // the request never reached the child (it had died): safe to retry
  kClientGone,    // the client hung up mid-run
  kShutdown,      // the server is stopping
  kQueueFull,     // every run slot busy and the wait queue full (429)
  kQueueTimeout,  // no slot freed up within server.queue_timeout (503)
  kOverLimit,     // the caller's API key has its concurrent_runs in flight (429)
  kUnavailable,   // no sandbox to run in: the zygote is down (503)
  kInternal,      // a failed system call of ours
};

/// A RunResult, or why there is none.
class RunOutcome {
 public:
  RunOutcome(RunResult result) : result_(std::move(result)) {}  // NOLINT(implicit)
  RunOutcome(RunAbort abort, Status status) : abort_(abort), status_(std::move(status)) {}

  bool ok() const { return result_.has_value(); }
  RunResult& value();
  const RunResult& value() const;
  RunResult* operator->() { return &value(); }
  const RunResult* operator->() const { return &value(); }
  /// Only when !ok().
  RunAbort abort() const { return abort_; }
  const Status& status() const { return status_; }
  /// Overload: seconds after which a retry would likely be served (Retry-After); 0: unknown.
  int retry_after() const { return retry_after_; }
  RunOutcome& with_retry_after(int seconds) {
    retry_after_ = seconds;
    return *this;
  }

 private:
  std::optional<RunResult> result_;
  RunAbort abort_ = RunAbort::kInternal;
  Status status_;
  int retry_after_ = 0;
};

/// What a session's run did to the session.
struct SessionRunEnd {
  bool ended = false;
  std::string reason;  // "the kernel's OOM killer ended it (...)", ...
};

class Executor {
 public:
  /// `reaper` (optional): where finished runs are killed, reaped and cleaned up off the
  /// request path; without one that happens before run() returns.
  explicit Executor(const Config& config, Reaper* reaper = nullptr)
      : config_(config), reaper_(reaper) {}

  /// Consumes `child`.
  RunOutcome run(std::unique_ptr<ReadyChild> child, const RunRequest& request,
                 RunWatch watch = {}) const;

  /// Makes `child` a session: its memory limit (start.memory_mb, for the whole session) and
  /// files (start.files) are set, its namespace made. The result is an error when the files
  /// could not be written.
  RunOutcome start_session(ReadyChild& child, const RunRequest& start) const;
  /// One run in a session started by start_session. At the timeout, or when watch.interrupt_fd
  /// becomes readable, the code is interrupted (KeyboardInterrupt: the state is kept) and
  /// killed only if it is still going `interrupt_grace` later. An interrupt that comes before
  /// the code was sent answers at once, without running it. When the run ends the session
  /// (that kill, the OOM killer, the interpreter exiting, a client gone), `end` says so and why.
  RunOutcome run_in_session(ReadyChild& session, const RunRequest& request, RunWatch watch,
                            std::chrono::milliseconds interrupt_grace, SessionRunEnd* end) const;

 private:
  const Config& config_;
  Reaper* reaper_;
};

/// The `error` of a run the client interrupted.
inline constexpr const char* kInterruptedText = "Interrupted by the client";

/// How a run that happened ended, from what was observed: the pure part of Executor::run.
struct RunEnding {
  bool timed_out = false;
  bool interrupted = false;  // by the client (RunWatch::interrupt_fd), before any timeout
  bool killed = false;       // by a signal (exit_code is then minus the signal)
  int exit_code = 0;
  bool oom_killed = false;  // the cgroup's OOM killer struck
  bool record_present = false;
  bool memory_error = false;  // the runner caught a MemoryError
  std::string record_error;   // the runner's one-line error
};
/// Sets result->outcome and result->error (the contract's texts). A timeout comes first, then
/// the client's interrupt: `error` "Interrupted by the client" (kInterruptedText), whatever
/// the code did with its KeyboardInterrupt, as a timed-out run is a timeout whatever it did.
void decide_outcome(const RunEnding& ending, const RunRequest& request, RunResult* result);

}  // namespace pyrunner
