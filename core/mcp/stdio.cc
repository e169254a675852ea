#include "core/mcp/stdio.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <thread>

#include "core/http/backend.h"
#include "core/mcp/tools.h"
#include "core/model/outcome.h"
#include "core/util/fd.h"

namespace pyrunner::mcp {
namespace {

// Requests waiting behind a call beyond this are refused (a client that does not wait).
constexpr size_t kMaxWaiting = 64;
// JSON-RPC's range for implementation-defined server errors.
constexpr int kServerBusy = -32000;

class Output {
 public:
  explicit Output(int fd) : fd_(fd) {}
  /// Writes one message as one line; false once the client is gone.
  bool send(const json& message) {
    const std::string line = to_text(message) + "\n";
    std::lock_guard<std::mutex> lock(mutex_);
    size_t done = 0;
    while (done < line.size() && !gone_) {
      ssize_t n = write(fd_, line.data() + done, line.size() - done);
      if (n > 0) {
        done += static_cast<size_t>(n);
      } else if (n < 0 && errno != EINTR) {
        gone_ = true;  // EPIPE: SIGPIPE is ignored
      }
    }
    return !gone_;
  }

 private:
  const int fd_;
  std::mutex mutex_;
  bool gone_ = false;
};

// The one catch of the stdio transport: a throw past the protocol layer is our bug, answered
// as an internal error instead of ending the process.
std::optional<json> answer(Connection& connection, const json& message) {
  try {
    return connection.handle(message);
  } catch (const std::exception& e) {
    spdlog::error("mcp: internal error: {}", e.what());
    const json id = message.is_object() && message.contains("id") ? message["id"] : json();
    return error_response(id, kInternalError, "Internal error");
  }
}

// What runs on the worker, in order: tool calls and batches (which may hold some). The reader
// answers the rest itself, at once.
bool for_worker(const json& message) {
  if (message.is_array()) return true;
  if (!message.is_object()) return false;
  auto method = message.find("method");
  return method != message.end() && *method == "tools/call";
}

// Calls in arrival order, on one thread.
class Worker {
 public:
  Worker(Connection& connection, Output& out, Readiness& ready)
      : connection_(connection),
        out_(out),
        ready_to_run_(ready),
        idle_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    thread_ = std::thread([this] { work(); });
  }
  /// Readable whenever the worker has run out of messages.
  int idle_fd() const { return idle_fd_.get(); }
  bool idle() {
    std::lock_guard<std::mutex> lock(mutex_);
    return queue_.empty() && !working_;
  }
  ~Worker() { stop(); }
  /// False when too many wait already.
  bool push(json message) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.size() >= kMaxWaiting) return false;
    queue_.push_back(std::move(message));
    ready_.notify_one();
    return true;
  }
  /// Drops what waits, lets the call in progress end, joins.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      queue_.clear();
    }
    ready_to_run_.cancel();
    ready_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void work() {
    if (!ready_to_run_.wait()) return;  // the sandbox did not start, or the end came first
    for (;;) {
      json message;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        message = std::move(queue_.front());
        queue_.pop_front();
        working_ = true;
      }
      if (auto reply = answer(connection_, message)) out_.send(*reply);
      std::lock_guard<std::mutex> lock(mutex_);
      working_ = false;
      if (queue_.empty()) {
        uint64_t one = 1;
        (void)!write(idle_fd_.get(), &one, sizeof one);
      }
    }
  }

  Connection& connection_;
  Output& out_;
  Readiness& ready_to_run_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<json> queue_;
  bool stopping_ = false;
  bool working_ = false;
  UniqueFd idle_fd_;
  std::thread thread_;
};

// After EOF on stdin: whether the client still reads our stdout (a pipe's write end polls
// POLLERR once its read end is closed; a client that went away closed it).
bool client_reads(int out_fd) {
  pollfd p = {out_fd, 0, 0};
  return poll(&p, 1, 0) == 0 || !(p.revents & (POLLERR | POLLHUP | POLLNVAL));
}

}  // namespace

void Readiness::set(bool ready) {
  std::lock_guard<std::mutex> lock(mutex_);
  state_ = ready ? kReady : kFailed;
  changed_.notify_all();
}

bool Readiness::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return state_ != kWaiting || cancelled_; });
  return state_ == kReady && !cancelled_;
}

void Readiness::cancel() {
  std::lock_guard<std::mutex> lock(mutex_);
  cancelled_ = true;
  changed_.notify_all();
}

void serve_connection(Connection& connection, Toolbox& tools, Readiness& ready, int in_fd,
                      int out_fd, int stop_fd, size_t max_message) {
  Output out(out_fd);
  Worker worker(connection, out, ready);
  std::string buffer;
  bool skipping = false;  // inside a line that was too long: dropped up to its newline
  char chunk[1 << 16];
  std::string why = "its stdio client closed stdin";  // unless it turns out otherwise
  const auto too_long = [&] {
    out.send(error_response(nullptr, kInvalidRequest,
                            "Invalid request: a message larger than " +
                                std::to_string(max_message) +
                                " bytes (server.max_body_bytes); it was skipped"));
  };
  const auto take = [&](std::string line) {
    if (line.size() > max_message) return too_long();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) return;
    json message = json::parse(line, nullptr, false);
    if (message.is_discarded()) {
      out.send(error_response(nullptr, kParseError, "Parse error: the message is not valid JSON"));
    } else if (!for_worker(message)) {
      if (auto reply = answer(connection, message)) out.send(*reply);
    } else if (!worker.push(message)) {
      if (message.is_object() && message.contains("id"))
        out.send(error_response(message["id"], kServerBusy,
                                "Server busy: " + std::to_string(kMaxWaiting) +
                                    " requests are waiting; wait for their answers"));
    }
  };
  for (;;) {
    pollfd fds[2] = {{in_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      why = "poll(stdin) failed";
      break;
    }
    if (fds[1].revents) {
      why = "pyrunner mcp was told to stop";
      break;
    }
    ssize_t n = read(in_fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    size_t start = 0;
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
      if (chunk[i] != '\n') continue;
      if (!skipping) {
        buffer.append(chunk + start, i - start);
        take(std::move(buffer));
      }
      buffer.clear();
      skipping = false;
      start = i + 1;
    }
    if (!skipping) buffer.append(chunk + start, static_cast<size_t>(n) - start);
    if (!skipping && buffer.size() > max_message) {
      too_long();
      buffer.clear();
      buffer.shrink_to_fit();
      skipping = true;
    }
  }
  // A line without its newline at EOF is still a message.
  if (!skipping && !buffer.empty()) take(std::move(buffer));
  // At EOF a client that still reads gets the answers to what it sent (a script that pipes
  // its requests in); one that went away, or a signal, ends the calls at once.
  const std::string eof = "its stdio client closed stdin";
  if (why == eof && !client_reads(out_fd)) why = "its stdio client went away";
  while (why == eof && !worker.idle()) {
    pollfd fds[3] = {{worker.idle_fd(), POLLIN, 0}, {stop_fd, POLLIN, 0}, {out_fd, 0, 0}};
    if (poll(fds, 3, -1) < 0 && errno != EINTR) break;
    if (fds[0].revents) {
      uint64_t n;
      (void)!read(worker.idle_fd(), &n, sizeof n);
    }
    if (fds[1].revents) {
      why = "pyrunner mcp was told to stop";
      break;
    }
    if (fds[2].revents) why = "its stdio client went away";
  }
  spdlog::info("mcp: {}: ending its session", why);
  tools.close(why);  // a run in progress is killed: the worker's call ends at once
  worker.stop();
}

int serve_stdio(const Config& config) {
  // The protocol's own descriptors; fd 1 then points at stderr, so that nothing else (a
  // library, the zygote, anything started later) can write into the JSON-RPC stream.
  UniqueFd in(fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3));
  UniqueFd out(fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3));
  if (!in.valid() || !out.valid() || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    std::fprintf(stderr, "pyrunner mcp: cannot set up stdio: %s\n", std::strerror(errno));
    return exit_code::kInternal;
  }
  if (int null = open("/dev/null", O_RDONLY | O_CLOEXEC); null >= 0) {
    dup2(null, STDIN_FILENO);
    close(null);
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&stop_signals, sig);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before any thread: all inherit it
  signal(SIGPIPE, SIG_IGN);
  log_to_stderr();

  auto prepared = Backend::prepare(config);
  if (auto* code = std::get_if<int>(&prepared)) return *code;
  auto backend = std::move(std::get<std::unique_ptr<Backend>>(prepared));

  UniqueFd stop(eventfd(0, EFD_CLOEXEC));
  const auto signal_stop = [fd = stop.get()] {
    uint64_t one = 1;
    (void)!write(fd, &one, sizeof one);
  };
  std::atomic<bool> ending{false};
  std::thread signals([&stop_signals, &ending, &signal_stop] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (ending) return;  // woken at the end (below)
    spdlog::info("mcp: {}", strsignal(sig));
    signal_stop();
  });
  // initialize and tools/list are answered while the zygote imports the preload modules, which
  // can take longer than a client waits for its first answer; calls wait for it.
  Readiness ready;
  int code = 0;
  std::thread warm([&] {
    const Status s = backend->warm_up();
    if (!s.ok()) {
      spdlog::critical("{}", s.message());
      code = exit_code::kUnavailable;
      signal_stop();
    }
    ready.set(s.ok());
  });
  spdlog::info("mcp: serving on stdio");
  {
    PythonTools tools(backend->services());
    Connection connection(tools);
    serve_connection(connection, tools, ready, in.get(), out.get(), stop.get(),
                     static_cast<size_t>(config.server.max_body_bytes));
  }
  warm.join();
  // The signal thread waits in sigwait: a signal of its own set ends it.
  ending = true;
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  backend.reset();
  if (code == 0) spdlog::info("mcp: stopped");
  return code;
}

}  // namespace pyrunner::mcp
