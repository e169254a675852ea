#pragma once
/// Sessions: state across calls. A session is one sandboxed child for its whole life (the same
/// namespaces, seccomp filter, uid as a run, one cgroup with the session's memory limit), taken
/// from the warm pool and kept: its variables, imports and working directory persist from one
/// run to the next, nothing crosses sessions. One run at a time; a timeout, or the client's
/// interrupt, interrupts the code (the state is kept) unless it does not stop within
/// sessions.interrupt_grace.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "core/config/config.h"
#include "core/executor/executor.h"
#include "core/http/run_service.h"

namespace pyrunner {

/// A refusal with its HTTP status: 404 unknown, 409 busy, 410 ended, 422 bad input, 429 too
/// many, 503 unavailable.
struct SessionError {
  int status;
  std::string detail;
  int retry_after = 0;
};

/// What POST /sessions may ask for.
struct SessionOptions {
  int memory_mb = 0;     // 0: sessions.default_memory_mb
  int idle_timeout = 0;  // seconds; 0: sessions.idle_timeout
  std::vector<InputFile> files;
};

class Session;
class ApiKey;  // core/access/keys.h

/// What a run in a session came to.
struct SessionRun {
  std::optional<SessionError> refused;  // 404, 409, 410, 422: no run
  std::optional<RunOutcome> outcome;    // the run, or why it did not happen (429, 503, ...)
  int execution_count = 0;              // this run's number in the session, from 1
  std::string ended;                    // non-empty: this run ended the session, and why
};

class SessionManager {
 public:
  using Clock = std::chrono::system_clock;

  SessionManager(const Config& config, RunService& runs, Metrics& metrics);
  ~SessionManager();  // ends every session

  /// Sessions belong to the API key that made them (`owner`; null without keys): for any
  /// other caller a session does not exist (404, whatever its state), and GET /sessions lists
  /// only the caller's own.
  ///
  /// A new session (201), or why not (429 at sessions.max_sessions or at the owner's sessions
  /// limit, 503, 422 for its files).
  std::variant<nlohmann::ordered_json, SessionError> create(const SessionOptions& options,
                                                            const ApiKey* owner);
  /// One run in the session. A run whose timeout could not be interrupted, or that the OOM
  /// killer stopped, ends the session; later calls get 410 with that reason. The run counts
  /// against `watch.key`'s concurrent runs. `interrupted` (optional; MCP's Call::cancelled):
  /// already true when the run begins, the run is interrupted as by interrupt(), which
  /// finds no run in progress before that point; set later, interrupt() must be called.
  SessionRun run(const std::string& id, const ApiKey* caller, const RunRequest& request,
                 RunWatch watch, const std::atomic<bool>* interrupted = nullptr);
  /// Interrupts the session's run in progress, as its timeout would (KeyboardInterrupt; killed,
  /// and the session ended, if the code is still going sessions.interrupt_grace later): its
  /// answer is an error "Interrupted by the client". Whether a run was in progress (false: the
  /// session was idle, nothing happens); or 404/410.
  std::variant<bool, SessionError> interrupt(const std::string& id, const ApiKey* caller);
  std::variant<nlohmann::ordered_json, SessionError> info(const std::string& id,
                                                          const ApiKey* caller);
  nlohmann::ordered_json list(const ApiKey* caller);
  /// Ends the session now (204), or 404/410; `reason` is what later calls are told (410).
  std::optional<SessionError> remove(const std::string& id, const ApiKey* caller,
                                     const std::string& reason = "deleted by its client");
  /// The pid of the session's process (its PID namespace's init), or the refusal.
  std::variant<pid_t, SessionError> root_pid(const std::string& id, const ApiKey* caller);
  /// A new fd (O_PATH) of the session's working directory, for the files routes (workdir.h);
  /// or the refusal.
  std::variant<UniqueFd, SessionError> workdir(const std::string& id, const ApiKey* caller);
  /// Ends every session (shutdown).
  void stop();

  int open_count();
  const std::string& replica() const { return replica_; }

 private:
  std::shared_ptr<Session> find(const std::string& id, const ApiKey* caller, SessionError* error);
  /// 429 when `owner` has its sessions limit open (with the seconds until the first of them
  /// expires); called with mutex_ held.
  std::optional<SessionError> over_key_limit(const ApiKey* owner) const;
  void end(const std::shared_ptr<Session>& session, const std::string& reason);
  void expire_loop();
  std::string new_id();

  const Config& config_;
  RunService& runs_;
  Metrics& metrics_;
  const std::string replica_;
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
  // Ended sessions' owners and reasons, for 410s; the oldest are forgotten past a bound.
  std::map<std::string, std::pair<const ApiKey*, std::string>> ended_;
  std::deque<std::string> ended_order_;
  std::thread expirer_;
};

/// sessions.replica, or the host name when it is "auto", as a session id can carry it:
/// lowercase letters, digits and '-'.
std::string replica_name(const SessionsConfig& config);

}  // namespace pyrunner
