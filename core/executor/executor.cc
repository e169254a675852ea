#include "core/executor/executor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <chrono>

#include "core/executor/record.h"
#include "core/executor/scheduling.h"

namespace pyrunner {
namespace {

using Clock = std::chrono::steady_clock;

// After the child's PID 1 has exited every process of the namespace is dead, so the pipes hit
// EOF at once; this bounds the drain in case something still holds them.
constexpr auto kDrainLimit = std::chrono::milliseconds(500);

// Appends what `fd` has to `out`, keeping at most `cap` bytes; false at EOF or error.
bool drain(int fd, std::string* out, size_t cap, bool* truncated) {
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  if (n <= 0) return false;
  size_t room = out->size() < cap ? cap - out->size() : 0;
  out->append(buf, std::min(room, static_cast<size_t>(n)));
  if (static_cast<size_t>(n) > room) *truncated = true;
  return true;
}

std::string signal_text(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  std::string text =
      "Killed by signal " + (abbrev ? "SIG" + std::string(abbrev) : std::to_string(sig));
  if (sig == SIGSYS) text += " (a forbidden system call)";
  return text;
}

}  // namespace

Result<RunResult> Executor::run(std::unique_ptr<ReadyChild> child, const RunRequest& request,
                                RunWatch watch) const {
  const unsigned long long memory_bytes = static_cast<unsigned long long>(request.memory_mb) << 20;
  if (child->cgroup) {
    if (auto s = child->cgroup->set_memory_limit(memory_bytes); !s.ok()) return s.within("cgroup");
  }
  const int control = child->io.control.get();
  timeval send_timeout{5, 0};
  setsockopt(control, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  // Pre-forked children confine themselves in the background (see scheduling.h); the run
  // itself gets normal priority.
  to_foreground(child->pid);
  RequestHeader header{kRequestMagic, static_cast<uint32_t>(request.code.size()), memory_bytes};
  const auto started = Clock::now();
  if (send(control, &header, sizeof header, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof header) ||
      send(control, request.code.data(), request.code.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(request.code.size())) {
    return Status::Sys("send(request to child)", errno);
  }
  const auto deadline = started + std::chrono::seconds(request.timeout_s);

  int stdin_fd = child->io.stdin_w.get();
  fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
  size_t stdin_sent = 0;
  if (request.stdin_data.empty()) child->io.stdin_w.reset();  // EOF at once

  RunResult result;
  std::string control_text;
  const size_t cap = static_cast<size_t>(config_.limits.max_output_bytes);
  bool out_open = true, err_open = true, ctl_open = true, exited = false, timed_out = false;
  std::optional<Clock::time_point> exited_at;

  Record record;
  for (;;) {
    auto now = Clock::now();
    if (!record.present && !control_text.empty()) record = parse_record(control_text);
    // Done when the output is closed and either the runner's record is in (the fast path: the
    // process is exiting, and the reaper finishes it) or the process has exited.
    if (!out_open && !err_open && (record.present || exited)) break;
    if (exited_at && now - *exited_at > kDrainLimit) break;
    if (!exited && !timed_out && now >= deadline) {
      // A kill that fails (no CAP_KILL over the run's uid) must not leave us waiting forever.
      if (syscall(SYS_pidfd_send_signal, child->pidfd.get(), SIGKILL, nullptr, 0) != 0)
        return Status::Sys("pidfd_send_signal(SIGKILL) at the timeout", errno);
      timed_out = true;
    }
    pollfd fds[7];
    int n = 0;
    int i_out = -1, i_err = -1, i_ctl = -1, i_in = -1, i_pid = -1, i_watch = -1, i_abort = -1;
    const auto add = [&](int* index, int fd, short events) {
      *index = n;
      fds[n++] = {fd, events, 0};
    };
    if (out_open) add(&i_out, child->io.stdout_r.get(), POLLIN);
    if (err_open) add(&i_err, child->io.stderr_r.get(), POLLIN);
    if (ctl_open) add(&i_ctl, control, POLLIN);
    if (child->io.stdin_w.valid()) add(&i_in, stdin_fd, POLLOUT);
    if (!exited) add(&i_pid, child->pidfd.get(), POLLIN);
    if (watch.client_fd >= 0) add(&i_watch, watch.client_fd, POLLRDHUP);
    if (watch.abort_fd >= 0) add(&i_abort, watch.abort_fd, POLLIN);
    auto wait_until =
        exited ? *exited_at + kDrainLimit : (timed_out ? now + kDrainLimit : deadline);
    auto wait_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(wait_until - now).count() + 1;
    int ready = poll(fds, static_cast<nfds_t>(n), static_cast<int>(std::max<long>(wait_ms, 0)));
    if (ready < 0 && errno != EINTR) return Status::Sys("poll(run channels)", errno);
    if (ready <= 0) continue;

    if (i_out >= 0 && fds[i_out].revents)
      out_open = drain(fds[i_out].fd, &result.stdout_text, cap, &result.truncated);
    if (i_err >= 0 && fds[i_err].revents)
      err_open = drain(fds[i_err].fd, &result.stderr_text, cap, &result.truncated);
    if (i_ctl >= 0 && fds[i_ctl].revents) {
      bool ignored = false;
      ctl_open = drain(control, &control_text, 1 << 16, &ignored);
    }
    if (i_in >= 0 && fds[i_in].revents) {
      ssize_t w = (fds[i_in].revents & POLLOUT)
                      ? write(stdin_fd, request.stdin_data.data() + stdin_sent,
                              request.stdin_data.size() - stdin_sent)
                      : -1;
      if (w > 0) stdin_sent += static_cast<size_t>(w);
      // Done, or the program closed its stdin (EPIPE; SIGPIPE is ignored by our callers).
      if (stdin_sent == request.stdin_data.size() || (w < 0 && errno != EAGAIN))
        child->io.stdin_w.reset();
    }
    if (i_pid >= 0 && fds[i_pid].revents) {
      exited = true;
      exited_at = Clock::now();
    }
    if (i_watch >= 0 && (fds[i_watch].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
      return Status::Error("client disconnected");  // ~ReadyChild kills the run
    }
    if (i_abort >= 0 && fds[i_abort].revents) return Status::Error("server shutting down");
  }
  const double wall = std::chrono::duration<double>(Clock::now() - started).count();

  bool killed = false;
  int code = record.exit_code;  // fast path: the status the runner is exiting with
  if (exited) {
    siginfo_t info{};
    if (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(child->pidfd.get()), &info,
               WEXITED) != 0)
      return Status::Sys("waitid(P_PIDFD)", errno);
    child->pidfd.reset();
    killed = info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED;
    code = killed ? -info.si_status : info.si_status;
  }
  bool oom = false;
  if (child->cgroup) {
    result.memory_used_mb = static_cast<double>(child->cgroup->peak_bytes()) / (1 << 20);
    oom = child->cgroup->oom_killed();
  }
  // Whatever is left (a process still exiting, daemons it started, the cgroup) is killed and
  // removed now, or by the reaper off the request path.
  if (reaper_ != nullptr) {
    // Tearing down what is left yields to the runs still going.
    if (!exited) to_background(child->pid);
    reaper_->reap(std::move(child));
  } else {
    child.reset();
  }

  result.exit_code = code;
  result.execution_time = record.time >= 0 && !timed_out ? record.time : wall;
  if (timed_out) {
    result.outcome = Outcome::kTimeout;
    result.execution_time = wall;
    result.error = "Execution timed out after " + std::to_string(request.timeout_s) + " s";
  } else if (record.memory_error || (killed && oom) || (!record.present && oom)) {
    result.outcome = Outcome::kMemoryExceeded;
    result.error = "Memory limit of " + std::to_string(request.memory_mb) + " MB exceeded";
  } else if (!killed && code == 0) {
    result.outcome = Outcome::kSuccess;
  } else {
    result.outcome = Outcome::kError;
    if (killed) {
      result.error = signal_text(-code);
    } else if (record.present && !record.error.empty()) {
      result.error = record.error;
    } else {
      result.error = "Exited with code " + std::to_string(code);
    }
  }
  return result;
}

}  // namespace pyrunner
