#include "core/sessions/session_manager.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>

#include "core/access/keys.h"
#include "core/util/process.h"

namespace pyrunner {

using json = nlohmann::ordered_json;

namespace {

// How many ended sessions are remembered for their 410s.
constexpr size_t kEndedRemembered = 10000;
// How long creating a session waits for the zygote to come back.
constexpr auto kAcquireWait = std::chrono::seconds(5);
// What a session's start (writing its files) may take.
constexpr int kStartTimeoutS = 30;

std::string iso8601(SessionManager::Clock::time_point t) {
  const std::time_t secs = SessionManager::Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

/// One session: its child, its limits, its clock. `run_mutex` is held for the length of a run.
class Session {
 public:
  std::string id;
  const ApiKey* owner = nullptr;      // the API key that made it (null: no keys)
  std::unique_ptr<ReadyChild> child;  // null once ended
  UniqueFd kill_fd;                   // a pidfd of the child of its own, to end a busy session
  UniqueFd interrupt_fd;  // an eventfd: written to interrupt the run in progress, reset before each
  int memory_mb = 0;
  std::chrono::seconds idle_timeout{0};
  SessionManager::Clock::time_point created_at, last_used_at, lifetime_end;
  int execution_count = 0;
  bool busy = false;
  std::mutex run_mutex;

  SessionManager::Clock::time_point expires_at() const {
    return std::min(last_used_at + idle_timeout, lifetime_end);
  }
  json to_json() const {
    double memory = 0;
    if (child && child->cgroup)
      memory =
          std::round(static_cast<double>(child->cgroup->current_bytes()) / (1 << 20) * 100) / 100;
    return {{"id", id},
            {"status", busy ? "busy" : "idle"},
            {"execution_count", execution_count},
            {"memory_used", memory},
            {"memory_limit", memory_mb},
            {"idle_timeout", idle_timeout.count()},
            {"created_at", iso8601(created_at)},
            {"last_used_at", iso8601(last_used_at)},
            {"expires_at", iso8601(expires_at())}};
  }
};

std::string replica_name(const SessionsConfig& config) {
  std::string name = config.replica;
  if (name == "auto") {
    char host[256] = {};
    name = gethostname(host, sizeof host - 1) == 0 ? host : "pyrunner";
  }
  std::string clean;
  for (char c : name) {
    const unsigned char u = static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(c)));
    clean += (std::isalnum(u) || u == '-') ? static_cast<char>(u) : '-';
  }
  return clean.empty() ? "pyrunner" : clean;
}

SessionManager::SessionManager(const Config& config, RunService& runs, Metrics& metrics)
    : config_(config), runs_(runs), metrics_(metrics), replica_(replica_name(config.sessions)) {
  expirer_ = std::thread([this] { expire_loop(); });
}

SessionManager::~SessionManager() { stop(); }

std::string SessionManager::new_id() {
  unsigned char bytes[16];
  size_t have = 0;
  while (have < sizeof bytes) {
    ssize_t n = getrandom(bytes + have, sizeof bytes - have, 0);
    if (n > 0) have += static_cast<size_t>(n);
  }
  static const char* hex = "0123456789abcdef";
  std::string id = replica_ + "-";
  for (unsigned char b : bytes) {
    id += hex[b >> 4];
    id += hex[b & 15];
  }
  return id;
}

std::optional<SessionError> SessionManager::over_key_limit(const ApiKey* owner) const {
  if (owner == nullptr || owner->limits().sessions <= 0) return std::nullopt;
  int open = 0;
  auto first_end = Clock::time_point::max();
  for (const auto& [id, session] : sessions_) {
    if (session->owner != owner) continue;
    ++open;
    first_end = std::min(first_end, session->expires_at());
  }
  if (open < owner->limits().sessions) return std::nullopt;
  // When the first of them expires unless it is used (or deleted) before.
  const double wait = std::chrono::duration<double>(first_end - Clock::now()).count();
  const int retry = static_cast<int>(std::clamp(std::ceil(wait), 1.0, 86400.0));
  metrics_.key_rejected(owner->id(), "sessions");
  return SessionError{429,
                      "key " + owner->id() + ": at its limit of " +
                          std::to_string(owner->limits().sessions) +
                          " open sessions (sessions); end one (DELETE /sessions/{id}) or retry "
                          "when one expires",
                      retry};
}

std::variant<json, SessionError> SessionManager::create(const SessionOptions& options,
                                                        const ApiKey* owner) {
  const auto& sc = config_.sessions;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || runs_.draining()) return SessionError{503, "server is shutting down", 1};
    if (auto refused = over_key_limit(owner)) return *refused;
    if (static_cast<int>(sessions_.size()) >= sc.max_sessions)
      return SessionError{429,
                          "sessions: " + std::to_string(sc.max_sessions) +
                              " are open (sessions.max_sessions); end one or retry later",
                          5};
  }
  auto child = runs_.pool().acquire(kAcquireWait);
  if (!child.ok()) return SessionError{503, "sandbox unavailable: " + child.status().message(), 1};
  RunRequest start;
  start.memory_mb = options.memory_mb > 0 ? options.memory_mb : sc.default_memory_mb;
  start.timeout_s = kStartTimeoutS;
  start.files = options.files;
  auto started = runs_.executor().start_session(*child.value(), start);
  if (!started.ok()) {
    spdlog::error("session start failed: {}", started.status().message());
    return SessionError{503, "sandbox unavailable: " + started.status().message(), 1};
  }
  if (started->outcome != Outcome::kSuccess) {
    runs_.retire(std::move(child.value()));
    return SessionError{422, started->error.value_or("the session could not start")};
  }
  auto session = std::make_shared<Session>();
  session->id = new_id();
  session->owner = owner;
  session->child = std::move(child.value());
  session->kill_fd.reset(dup(session->child->pidfd.get()));
  session->interrupt_fd.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!session->interrupt_fd.valid()) {
    runs_.retire(std::move(session->child));
    return SessionError{503, "sandbox unavailable: eventfd: " + std::string(strerror(errno)), 1};
  }
  session->memory_mb = start.memory_mb;
  session->idle_timeout =
      std::chrono::seconds(options.idle_timeout > 0 ? options.idle_timeout : sc.idle_timeout);
  session->created_at = session->last_used_at = Clock::now();
  session->lifetime_end = session->created_at + std::chrono::seconds(sc.max_lifetime);
  json info = session->to_json();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || static_cast<int>(sessions_.size()) >= sc.max_sessions) {
      runs_.retire(std::move(session->child));
      return SessionError{429, "sessions: " + std::to_string(sc.max_sessions) + " are open", 5};
    }
    if (auto refused = over_key_limit(owner)) {  // its other sessions were made meanwhile
      runs_.retire(std::move(session->child));
      return *refused;
    }
    sessions_[session->id] = session;
  }
  metrics_.session_created();
  spdlog::info("session {} created ({} MB, idle timeout {} s)", session->id, session->memory_mb,
               session->idle_timeout.count());
  return info;
}

std::shared_ptr<Session> SessionManager::find(const std::string& id, const ApiKey* caller,
                                              SessionError* error) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = sessions_.find(id);
  if (it != sessions_.end() && it->second->owner == caller) return it->second;
  auto gone = ended_.find(id);
  // Another key's session, alive or ended, is answered as one that never was.
  *error = gone != ended_.end() && gone->second.first == caller
               ? SessionError{410, "session: ended: " + gone->second.second}
               : SessionError{404, "session: no session '" + id.substr(0, 80) + "' on this server"};
  return nullptr;
}

void SessionManager::end(const std::shared_ptr<Session>& session, const std::string& reason) {
  std::unique_ptr<ReadyChild> child;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (sessions_.erase(session->id) == 0) return;
    ended_[session->id] = {session->owner, reason};
    ended_order_.push_back(session->id);
    while (ended_order_.size() > kEndedRemembered) {
      ended_.erase(ended_order_.front());
      ended_order_.pop_front();
    }
    if (session->busy) {
      // Its run is using the child: the kill ends that run, and run() retires the child.
      kill_by_pidfd(session->kill_fd.get());
    } else {
      child = std::move(session->child);
    }
  }
  metrics_.session_ended();
  spdlog::info("session {} ended: {}", session->id, reason);
  if (child) runs_.retire(std::move(child));
}

SessionRun SessionManager::run(const std::string& id, const ApiKey* caller,
                               const RunRequest& request, RunWatch watch,
                               const std::atomic<bool>* interrupted) {
  SessionRun out;
  SessionError error;
  auto session = find(id, caller, &error);
  if (!session) {
    out.refused = error;
    return out;
  }
  std::unique_lock<std::mutex> running(session->run_mutex, std::try_to_lock);
  if (!running.owns_lock()) {
    out.refused = SessionError{409, "session: busy: one run at a time"};
    return out;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!session->child) {  // ended while we waited for it
      out.refused = SessionError{410, "session: ended: " + ended_[id].second};
      return out;
    }
    session->busy = true;
    // An interrupt meant for an earlier run (written as it ended) must not stop this one.
    uint64_t stale;
    (void)!::read(session->interrupt_fd.get(), &stale, sizeof stale);
    // Asked for before the session was busy, when interrupt() had no run to stop.
    if (interrupted != nullptr && interrupted->load()) {
      const uint64_t one = 1;
      (void)!::write(session->interrupt_fd.get(), &one, sizeof one);
    }
  }
  watch.interrupt_fd = session->interrupt_fd.get();
  RunRequest step = request;
  step.memory_mb = session->memory_mb;  // the session's, for the texts of the outcome
  SessionRunEnd ended;
  auto outcome = runs_.in_slot(watch, [&](const RunWatch& w) {
    return runs_.executor().run_in_session(
        *session->child, step, w, std::chrono::seconds(config_.sessions.interrupt_grace), &ended);
  });
  std::unique_ptr<ReadyChild> orphan;  // the session was ended during the run
  {
    std::lock_guard<std::mutex> lock(mutex_);
    session->busy = false;
    session->last_used_at = Clock::now();
    if (outcome.ok()) out.execution_count = ++session->execution_count;
    if (sessions_.count(id) == 0) {
      orphan = std::move(session->child);
      if (!ended.ended) ended = {true, ended_[id].second};
    }
  }
  running.unlock();
  if (orphan) {
    runs_.retire(std::move(orphan));
    out.ended = ended.reason;
    out.outcome = std::move(outcome);
    return out;
  }
  if (ended.ended) {
    out.ended = ended.reason;
    end(session, ended.reason);
  }
  out.outcome = std::move(outcome);
  return out;
}

std::variant<bool, SessionError> SessionManager::interrupt(const std::string& id,
                                                           const ApiKey* caller) {
  SessionError error;
  auto session = find(id, caller, &error);
  if (!session) return error;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!session->child) return SessionError{410, "session: ended: " + ended_[id].second};
  if (!session->busy) return false;
  const uint64_t one = 1;
  (void)!::write(session->interrupt_fd.get(), &one, sizeof one);
  spdlog::info("session {}: its run interrupted by the client", id);
  return true;
}

std::variant<json, SessionError> SessionManager::info(const std::string& id, const ApiKey* caller) {
  SessionError error;
  auto session = find(id, caller, &error);
  if (!session) return error;
  std::lock_guard<std::mutex> lock(mutex_);
  return session->to_json();
}

json SessionManager::list(const ApiKey* caller) {
  std::lock_guard<std::mutex> lock(mutex_);
  json all = json::array();
  for (const auto& [id, session] : sessions_) {
    if (session->owner == caller) all.push_back(session->to_json());
  }
  return {{"sessions", all}};
}

std::optional<SessionError> SessionManager::remove(const std::string& id, const ApiKey* caller,
                                                   const std::string& reason) {
  SessionError error;
  auto session = find(id, caller, &error);
  if (!session) return error;
  // A run in progress ends with the session (its child is killed under it).
  end(session, reason);
  return std::nullopt;
}

std::variant<pid_t, SessionError> SessionManager::root_pid(const std::string& id,
                                                           const ApiKey* caller) {
  SessionError error;
  auto session = find(id, caller, &error);
  if (!session) return error;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!session->child) return SessionError{410, "session: ended"};
  return session->child->pid;
}

std::variant<UniqueFd, SessionError> SessionManager::workdir(const std::string& id,
                                                             const ApiKey* caller) {
  SessionError error;
  auto session = find(id, caller, &error);
  if (!session) return error;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!session->child) return SessionError{410, "session: ended"};
  // A copy: the session may end (and close its own) while a file is being read.
  UniqueFd copy(fcntl(session->child->workdir.get(), F_DUPFD_CLOEXEC, 0));
  if (!copy.valid()) return SessionError{500, "internal error: dup(working directory)"};
  return copy;
}

int SessionManager::open_count() {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(sessions_.size());
}

void SessionManager::expire_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, std::chrono::seconds(1));
    if (stopping_) break;
    const auto now = Clock::now();
    std::vector<std::pair<std::shared_ptr<Session>, std::string>> expired;
    for (const auto& [id, session] : sessions_) {
      if (session->busy) continue;  // a run in progress is bounded by its own timeout
      if (now >= session->lifetime_end) {
        expired.emplace_back(session, "expired: reached sessions.max_lifetime (" +
                                          std::to_string(config_.sessions.max_lifetime) + " s)");
      } else if (now >= session->last_used_at + session->idle_timeout) {
        expired.emplace_back(
            session, "expired: idle for " + std::to_string(session->idle_timeout.count()) + " s");
      }
    }
    lock.unlock();
    for (const auto& [session, reason] : expired) end(session, reason);
    lock.lock();
  }
}

void SessionManager::stop() {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !expirer_.joinable()) return;
    stopping_ = true;
    for (const auto& [id, session] : sessions_) all.push_back(session);
  }
  stop_cv_.notify_all();
  if (expirer_.joinable()) expirer_.join();
  for (const auto& session : all) end(session, "the server stopped");
}

}  // namespace pyrunner
