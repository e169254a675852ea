#include "core/executor/executor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "core/executor/record.h"
#include "core/executor/scheduling.h"
#include "core/sandbox/plan.h"
#include "core/util/process.h"

namespace pyrunner {
namespace {

using Clock = std::chrono::steady_clock;

// After the child's PID 1 has exited every process of the namespace is dead, so the pipes hit
// EOF at once; this bounds the drain in case something still holds them.
constexpr auto kDrainLimit = std::chrono::milliseconds(500);
// What the control channel may carry beyond the display items and files themselves (the record,
// the framing).
constexpr size_t kControlSlack = 2 << 20;

std::string signal_text(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  std::string text =
      "Killed by signal " + (abbrev ? "SIG" + std::string(abbrev) : std::to_string(sig));
  if (sig == SIGSYS) text += " (a forbidden system call)";
  return text;
}

// The bytes of files the run may send back: the config's inline caps, or the whole working
// directory for `run --output-dir`.
size_t files_inline_total(const Config& config, const RunRequest& request) {
  return request.whole_files ? static_cast<size_t>(config.sandbox.workdir_size_mb) << 20
                             : static_cast<size_t>(config.limits.max_files_inline_bytes);
}

// The request's metadata for the runner (runner.py, main): "" when it has nothing to say, so
// that a plain run costs the runner no JSON parsing.
std::string request_meta(const Config& config, const RunRequest& request) {
  if (request.files.empty() && request.filename.empty() && !request.whole_files &&
      request.args.empty())
    return "";
  nlohmann::json meta = nlohmann::json::object();
  if (!request.filename.empty()) meta["filename"] = request.filename;
  if (!request.args.empty()) meta["args"] = request.args;
  if (!request.files.empty()) {
    auto& files = meta["files"] = nlohmann::json::array();
    for (const auto& f : request.files)
      files.push_back({{"path", f.path}, {"size", f.content.size()}});
  }
  if (request.whole_files) {
    const size_t total = files_inline_total(config, request);
    meta["limits"] = {{"max_file_inline_bytes", total}, {"max_files_inline_bytes", total}};
  }
  return meta.dump();
}

// Sends the header (with `fds`, if any, alongside) and then the metadata, code and files.
bool send_header(int control, const RequestHeader& header, const int* fds, size_t nfds) {
  if (nfds == 0) return write_all(control, &header, sizeof header);
  iovec iov{const_cast<RequestHeader*>(&header), sizeof header};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int) * 3)] = {};
  msg.msg_control = buf;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
  std::memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
  return sendmsg(control, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof header);
}

Status send_request(int control, RequestKind kind, const Config& config, const RunRequest& request,
                    unsigned long long memory_bytes, const int* fds = nullptr, size_t nfds = 0) {
  const std::string meta = request_meta(config, request);
  size_t data_size = 0;
  for (const auto& f : request.files) data_size += f.content.size();
  RequestHeader header{kRequestMagic,
                       kind,
                       static_cast<uint32_t>(request.code.size()),
                       static_cast<uint32_t>(meta.size()),
                       static_cast<uint32_t>(data_size),
                       0,
                       memory_bytes};
  bool sent = send_header(control, header, fds, nfds) &&
              write_all(control, meta.data(), meta.size()) &&
              write_all(control, request.code.data(), request.code.size());
  for (const auto& f : request.files) {
    sent = sent && write_all(control, f.content.data(), f.content.size());
  }
  if (!sent) return Status::Sys("send(request to child)", errno);
  return Status::Ok();
}

// Appends what `fd` has to `out`, keeping at most `cap` bytes, and hands the kept part to
// `observe`; false at EOF or error.
template <typename Observe>
bool drain(int fd, std::string* out, size_t cap, bool* truncated, Observe observe) {
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  if (n <= 0) return false;
  size_t room = out->size() < cap ? cap - out->size() : 0;
  size_t kept = std::min(room, static_cast<size_t>(n));
  out->append(buf, kept);
  if (kept > 0) observe(std::string_view(buf, kept));
  if (static_cast<size_t>(n) > room) *truncated = true;
  return true;
}

// The run's channels, pumped until the run is over: output collected within its caps, stdin
// fed, the control messages read, the timeout enforced, the watch observed.
// How a run's time limit is enforced: a one-off run is killed at its deadline; a session's
// run is interrupted (SIGINT, a KeyboardInterrupt), and killed only if it is still going
// `grace` later.
struct Deadline {
  Clock::time_point at;
  bool interrupt_first = false;
  std::chrono::milliseconds grace{0};
};

class RunPump {
 public:
  RunPump(ParentChannels& io, pid_t pid, int pidfd, int control, const RunRequest& request,
          const Config& config, RunWatch watch, RunResult* result)
      : io_(io),
        pid_(pid),
        pidfd_(pidfd),
        control_fd_(control),
        request_(request),
        watch_(watch),
        result_(result),
        output_cap_(static_cast<size_t>(config.limits.max_output_bytes)),
        control_({static_cast<size_t>(config.limits.max_results_bytes) + kControlSlack,
                  files_inline_total(config, request) / 3 * 4 + kControlSlack,
                  static_cast<size_t>(config.limits.max_files)}) {
    if (watch.observer != nullptr) {
      control_.set_display_callback(
          [observer = watch.observer](const nlohmann::ordered_json& item) {
            observer->on_display(item);
          });
    }
  }

  /// Pumps until the output is closed and the record is in (or the process exited), or the
  /// watch ends the run early.
  std::optional<RunOutcome> pump(Deadline deadline);

  bool timed_out() const { return timed_out_; }
  bool interrupted() const { return interrupted_; }  // sent SIGINT (the deadline, the client)
  bool client_interrupted() const { return client_interrupted_; }  // watch.interrupt_fd did it
  bool killed_at_deadline() const { return killed_; }
  bool exited() const { return exited_; }
  ControlReader& control() { return control_; }

 private:
  ParentChannels& io_;
  const pid_t pid_;
  const int pidfd_;
  const int control_fd_;
  const RunRequest& request_;
  const RunWatch watch_;
  RunResult* result_;
  const size_t output_cap_;
  ControlReader control_;
  bool timed_out_ = false, interrupted_ = false, killed_ = false, exited_ = false;
  bool client_interrupted_ = false;
  // A session's client interrupt that came before its code started ("S"): a SIGINT then would
  // land in the runner, not in the code. Delivered once the code starts.
  bool interrupt_held_ = false;
};

std::optional<RunOutcome> RunPump::pump(Deadline deadline) {
  const int control = control_fd_;
  int stdin_fd = io_.stdin_w.get();
  fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
  size_t stdin_sent = 0;
  if (request_.stdin_data.empty()) io_.stdin_w.reset();  // EOF at once
  bool out_open = true, err_open = true, ctl_open = true;
  std::optional<Clock::time_point> exited_at, record_at;
  RunObserver* observer = watch_.observer;
  Clock::time_point kill_at = deadline.at;

  const auto interrupt_session = [&](Clock::time_point now) {
    syscall(SYS_pidfd_send_signal, pidfd_, SIGINT, nullptr, 0);
    client_interrupted_ = interrupted_ = true;
    interrupt_held_ = false;
    // Never later than the deadline's own kill would have been.
    kill_at = std::min(now + deadline.grace, deadline.at + deadline.grace);
  };

  for (;;) {
    auto now = Clock::now();
    if (!record_at && control_.record().present) record_at = now;
    if (interrupt_held_ && control_.code_started() && !interrupted_ && !killed_ && !exited_ &&
        !record_at)
      interrupt_session(now);
    // Done when the output is closed and either the runner's record is in (the fast path: the
    // process is exiting, and the reaper finishes it) or the process has exited; or once the
    // record is in and the output stays open past the drain limit (something the code started
    // holds it).
    if (!out_open && !err_open && (record_at || exited_)) break;
    if (exited_at && now - *exited_at > kDrainLimit) break;
    if (record_at && now - *record_at > kDrainLimit) break;
    if (!exited_ && !record_at && now >= kill_at) {
      if (deadline.interrupt_first && !interrupted_) {
        // A KeyboardInterrupt, as Jupyter's interrupt: the session's state is kept if the code
        // stops within the grace.
        syscall(SYS_pidfd_send_signal, pidfd_, SIGINT, nullptr, 0);
        interrupted_ = true;
        timed_out_ = true;
        kill_at = now + deadline.grace;
      } else if (!killed_) {
        // A kill that fails (no CAP_KILL over the run's uid) must not leave us waiting forever.
        if (!kill_by_pidfd(pidfd_))
          return RunOutcome(RunAbort::kInternal,
                            Status::Sys("pidfd_send_signal(SIGKILL) at the timeout", errno));
        killed_ = true;
        timed_out_ = !client_interrupted_;  // the grace of the client's interrupt ran out
      }
    }
    pollfd fds[9];
    int n = 0;
    int i_out = -1, i_err = -1, i_ctl = -1, i_in = -1, i_pid = -1, i_watch = -1, i_abort = -1,
        i_cancel = -1, i_interrupt = -1;
    const auto add = [&](int* index, int fd, short events) {
      *index = n;
      fds[n++] = {fd, events, 0};
    };
    if (out_open) add(&i_out, io_.stdout_r.get(), POLLIN);
    if (err_open) add(&i_err, io_.stderr_r.get(), POLLIN);
    if (ctl_open) add(&i_ctl, control, POLLIN);
    if (io_.stdin_w.valid()) add(&i_in, stdin_fd, POLLOUT);
    if (!exited_) add(&i_pid, pidfd_, POLLIN);
    if (watch_.client_fd >= 0) add(&i_watch, watch_.client_fd, POLLRDHUP);
    if (watch_.abort_fd >= 0) add(&i_abort, watch_.abort_fd, POLLIN);
    if (watch_.cancel_fd >= 0) add(&i_cancel, watch_.cancel_fd, POLLIN);
    // Once the code has been interrupted (by the client or its deadline) or killed, a client's
    // interrupt changes nothing: the fd, which stays readable, is left out.
    if (watch_.interrupt_fd >= 0 && !interrupted_ && !killed_ && !interrupt_held_)
      add(&i_interrupt, watch_.interrupt_fd, POLLIN);
    auto wait_until = exited_     ? *exited_at + kDrainLimit
                      : record_at ? *record_at + kDrainLimit
                      : killed_   ? now + kDrainLimit
                                  : kill_at;
    auto wait_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(wait_until - now).count() + 1;
    int ready = poll(fds, static_cast<nfds_t>(n), static_cast<int>(std::max<long>(wait_ms, 0)));
    if (ready < 0 && errno != EINTR)
      return RunOutcome(RunAbort::kInternal, Status::Sys("poll(run channels)", errno));
    if (ready <= 0) continue;

    if (i_out >= 0 && fds[i_out].revents) {
      out_open = drain(fds[i_out].fd, &result_->stdout_text, output_cap_, &result_->truncated,
                       [observer](std::string_view t) {
                         if (observer) observer->on_stdout(t);
                       });
    }
    if (i_err >= 0 && fds[i_err].revents) {
      err_open = drain(fds[i_err].fd, &result_->stderr_text, output_cap_, &result_->truncated,
                       [observer](std::string_view t) {
                         if (observer) observer->on_stderr(t);
                       });
    }
    if (i_ctl >= 0 && fds[i_ctl].revents) {
      char buf[65536];
      ssize_t got = read(control, buf, sizeof buf);
      if (got > 0) {
        control_.feed(std::string_view(buf, static_cast<size_t>(got)));
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        ctl_open = false;
      }
    }
    if (i_in >= 0 && fds[i_in].revents) {
      ssize_t w = (fds[i_in].revents & POLLOUT)
                      ? write(stdin_fd, request_.stdin_data.data() + stdin_sent,
                              request_.stdin_data.size() - stdin_sent)
                      : -1;
      if (w > 0) stdin_sent += static_cast<size_t>(w);
      // Done, or the program closed its stdin (EPIPE; SIGPIPE is ignored by our callers).
      if (stdin_sent == request_.stdin_data.size() || (w < 0 && errno != EAGAIN))
        io_.stdin_w.reset();
    }
    if (i_pid >= 0 && fds[i_pid].revents) {
      exited_ = true;
      exited_at = Clock::now();
    }
    if (i_watch >= 0 && (fds[i_watch].revents & (POLLRDHUP | POLLHUP | POLLERR)))
      return RunOutcome(RunAbort::kClientGone, Status::Error("client disconnected"));
    if (i_abort >= 0 && fds[i_abort].revents)
      return RunOutcome(RunAbort::kShutdown, Status::Error("server shutting down"));
    if (i_cancel >= 0 && fds[i_cancel].revents)
      return RunOutcome(RunAbort::kClientGone, Status::Error("client stopped reading the stream"));
    if (i_interrupt >= 0 && fds[i_interrupt].revents && !exited_ && !control_.record().present) {
      // As at the deadline, now; a run that has already finished is left as it ended.
      if (deadline.interrupt_first) {
        if (control_.code_started())
          interrupt_session(Clock::now());
        else
          interrupt_held_ = true;
      } else {
        client_interrupted_ = true;
        if (!kill_by_pidfd(pidfd_))
          return RunOutcome(RunAbort::kInternal,
                            Status::Sys("pidfd_send_signal(SIGKILL) at an interrupt", errno));
        killed_ = true;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

RunResult& RunOutcome::value() {
  if (!result_) abort_on_error("RunOutcome::value()", status_);
  return *result_;
}

const RunResult& RunOutcome::value() const {
  if (!result_) abort_on_error("RunOutcome::value()", status_);
  return *result_;
}

void decide_outcome(const RunEnding& e, const RunRequest& request, RunResult* result) {
  result->error.reset();
  if (e.timed_out) {
    result->outcome = Outcome::kTimeout;
    result->error = "Execution timed out after " + std::to_string(request.timeout_s) + " s";
  } else if (e.interrupted) {
    // Not a fifth status: the four are the public contract, and the run did fail to finish.
    result->outcome = Outcome::kError;
    result->error = kInterruptedText;
  } else if (e.memory_error || (e.killed && e.oom_killed) || (!e.record_present && e.oom_killed)) {
    result->outcome = Outcome::kMemoryExceeded;
    result->error = "Memory limit of " + std::to_string(request.memory_mb) + " MB exceeded";
  } else if (!e.killed && e.exit_code == 0) {
    result->outcome = Outcome::kSuccess;
  } else {
    result->outcome = Outcome::kError;
    if (e.killed) {
      result->error = signal_text(-e.exit_code);
    } else if (e.record_present && !e.record_error.empty()) {
      result->error = e.record_error;
    } else {
      result->error = "Exited with code " + std::to_string(e.exit_code);
    }
  }
}

namespace {

// What the pump and the record say, as the run's result (outcome, texts, rich results, files).
RunResult& finish(RunPump& pump, RunEnding ending, const RunRequest& request, double wall,
                  RunResult& result) {
  const RunRecord& record = pump.control().record();
  ending.timed_out = pump.timed_out();
  ending.interrupted = pump.client_interrupted();
  ending.record_present = record.present;
  ending.memory_error = record.memory_error;
  ending.record_error = record.error;
  result.exit_code = ending.exit_code;
  result.execution_time = record.time >= 0 && !ending.timed_out ? record.time : wall;
  decide_outcome(ending, request, &result);
  result.results = std::move(pump.control().results());
  result.files = std::move(pump.control().files());
  result.truncated =
      result.truncated || record.results_truncated || pump.control().results_dropped();
  result.files_truncated = record.files_truncated || pump.control().files_dropped();
  result.exception = record.exception;
  return result;
}

// How the process ended, once the pump saw it exit: into `ending`.
Status reap_into(ReadyChild& child, RunEnding* ending) {
  auto status = wait_pidfd(child.pidfd.get());
  if (!status.ok()) return status.status();
  child.pidfd.reset();
  ending->killed = status->killed;
  ending->exit_code = status->killed ? -status->signal : status->code;
  return Status::Ok();
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

void send_timeout(int control) {
  timeval send_timeout{5, 0};
  setsockopt(control, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
}

}  // namespace

RunOutcome Executor::run(std::unique_ptr<ReadyChild> child, const RunRequest& request,
                         RunWatch watch) const {
  child->workdir.reset();  // for sessions' files routes; a run's files are read inside it
  const unsigned long long memory_bytes = static_cast<unsigned long long>(request.memory_mb) << 20;
  if (child->cgroup) {
    if (auto s = child->cgroup->set_memory_limit(memory_bytes); !s.ok())
      return RunOutcome(RunAbort::kInternal, s.within("cgroup"));
  }
  const int control = child->io.control.get();
  send_timeout(control);
  // Pre-forked children confine themselves in the background (see scheduling.h); the run
  // itself gets normal priority.
  to_foreground(child->pid);
  const auto started = Clock::now();
  if (auto s = send_request(control, RequestKind::kRun, config_, request, memory_bytes); !s.ok())
    return RunOutcome(RunAbort::kNotDelivered, s);
  if (watch.observer != nullptr) watch.observer->on_start();

  RunResult result;
  RunPump pump(child->io, child->pid, child->pidfd.get(), control, request, config_, watch,
               &result);
  if (auto early = pump.pump({started + std::chrono::seconds(request.timeout_s)}))
    return std::move(*early);  // ~ReadyChild kills the run
  const double wall = std::chrono::duration<double>(Clock::now() - started).count();

  RunEnding ending;
  ending.exit_code = pump.control().record().exit_code;  // fast path: what the runner exits with
  if (pump.exited()) {
    if (auto s = reap_into(*child, &ending); !s.ok()) return RunOutcome(RunAbort::kInternal, s);
  }
  if (child->cgroup) {
    result.memory_used_mb = static_cast<double>(child->cgroup->peak_bytes()) / (1 << 20);
    ending.oom_killed = child->cgroup->oom_killed();
  }
  // Whatever is left (a process still exiting, daemons it started, the cgroup) is killed and
  // removed now, or by the reaper off the request path.
  if (reaper_ != nullptr) {
    // Tearing down what is left yields to the runs still going.
    if (!pump.exited()) to_background(child->pid);
    reaper_->reap(std::move(child));
  } else {
    child.reset();
  }
  return finish(pump, ending, request, wall, result);
}

RunOutcome Executor::start_session(ReadyChild& child, const RunRequest& start) const {
  const unsigned long long memory_bytes = static_cast<unsigned long long>(start.memory_mb) << 20;
  if (child.cgroup) {
    if (auto s = child.cgroup->set_memory_limit(memory_bytes); !s.ok())
      return RunOutcome(RunAbort::kInternal, s.within("cgroup"));
  }
  const int control = child.io.control.get();
  send_timeout(control);
  to_foreground(child.pid);
  const auto started = Clock::now();
  if (auto s = send_request(control, RequestKind::kSessionStart, config_, start, memory_bytes);
      !s.ok())
    return RunOutcome(RunAbort::kNotDelivered, s);
  RunResult result;
  RunPump pump(child.io, child.pid, child.pidfd.get(), control, start, config_, {}, &result);
  if (auto early = pump.pump({started + std::chrono::seconds(start.timeout_s)}))
    return std::move(*early);
  const double wall = std::chrono::duration<double>(Clock::now() - started).count();
  RunEnding ending;
  ending.exit_code = pump.control().record().exit_code;
  if (pump.exited()) {
    if (auto s = reap_into(child, &ending); !s.ok()) return RunOutcome(RunAbort::kInternal, s);
  }
  // The session's first std streams served only its start.
  child.io.stdin_w.reset();
  child.io.stdout_r.reset();
  child.io.stderr_r.reset();
  return finish(pump, ending, start, wall, result);
}

RunOutcome Executor::run_in_session(ReadyChild& session, const RunRequest& request, RunWatch watch,
                                    std::chrono::milliseconds interrupt_grace,
                                    SessionRunEnd* end) const {
  if (watch.interrupt_fd >= 0 && readable(watch.interrupt_fd)) {
    // Interrupted while it waited for a run slot: the code never starts (a SIGINT now would
    // reach the interpreter before it runs the code, and be lost).
    if (watch.observer != nullptr) watch.observer->on_start();
    RunResult result;
    RunEnding ending;
    ending.interrupted = true;
    decide_outcome(ending, request, &result);
    return result;
  }
  ParentChannels io;
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
    return RunOutcome(RunAbort::kInternal, Status::Sys("pipe2(session run)", errno));
  io.stdin_w.reset(in[1]);
  io.stdout_r.reset(out[0]);
  io.stderr_r.reset(err[0]);
  UniqueFd child_in(in[0]), child_out(out[1]), child_err(err[1]);
  fcntl(io.stdout_r.get(), F_SETPIPE_SZ, 1 << 20);
  const int fds[3] = {child_in.get(), child_out.get(), child_err.get()};
  const int control = session.io.control.get();
  to_foreground(session.pid);
  const auto started = Clock::now();
  if (auto s = send_request(control, RequestKind::kSessionRun, config_, request, 0, fds, 3);
      !s.ok())
    return RunOutcome(RunAbort::kNotDelivered, s);
  if (watch.observer != nullptr) watch.observer->on_start();
  // Only the session holds its ends now: their EOF means the run let go of them.
  child_in.reset();
  child_out.reset();
  child_err.reset();

  RunResult result;
  RunPump pump(io, session.pid, session.pidfd.get(), control, request, config_, watch, &result);
  Deadline deadline{started + std::chrono::seconds(request.timeout_s), true, interrupt_grace};
  if (auto early = pump.pump(deadline)) {
    // A client that left or a shutdown ends the session with the run: its state is unknown.
    kill_by_pidfd(session.pidfd.get());
    end->ended = true;
    end->reason = early->status().message();
    return std::move(*early);
  }
  const double wall = std::chrono::duration<double>(Clock::now() - started).count();
  RunEnding ending;
  ending.exit_code = pump.control().record().exit_code;
  if (session.cgroup) {
    result.memory_used_mb = static_cast<double>(session.cgroup->peak_bytes()) / (1 << 20);
    ending.oom_killed = session.cgroup->oom_killed();
  }
  if (pump.exited() || pump.killed_at_deadline()) {
    if (auto s = reap_into(session, &ending); !s.ok()) return RunOutcome(RunAbort::kInternal, s);
    end->ended = true;
    if (ending.oom_killed) {
      end->reason = "the kernel's OOM killer ended it (memory limit " +
                    std::to_string(request.memory_mb) + " MB)";
    } else if (pump.killed_at_deadline()) {
      end->reason = "its code did not stop within sessions.interrupt_grace (" +
                    std::to_string(interrupt_grace.count()) + " ms) after " +
                    (pump.client_interrupted() ? "the client interrupted it" : "the timeout");
    } else if (ending.killed) {
      end->reason = "its interpreter was " + signal_text(-ending.exit_code);
    } else {
      end->reason = "its interpreter exited with code " + std::to_string(ending.exit_code);
    }
  }
  return finish(pump, ending, request, wall, result);
}

}  // namespace pyrunner
