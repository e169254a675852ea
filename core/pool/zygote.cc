#include "core/pool/zygote.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <vector>

#include "core/executor/python_runtime.h"
#include "core/executor/scheduling.h"
#include "core/pool/arenas.h"
#include "core/pool/hugepages.h"
#include "core/pool/malloc_fill.h"
#include "core/pool/mappings.h"
#include "core/sandbox/contain.h"
#include "core/sandbox/plan.h"
#include "core/util/process.h"

namespace pyrunner {
namespace {

constexpr int kStartTimeoutMs = 120000;  // a cold page cache makes the first preload slow
constexpr int kSpawnTimeoutMs = 10000;
constexpr size_t kMaxMessage = 1024;
constexpr const char* kInjectedFailure = "injected failure (PYRUNNER_TEST_ZYGOTE_FAULT)";

bool send_message(int fd, const std::string& text, const int* fds, size_t nfds) {
  iovec iov{const_cast<char*>(text.data()), text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  if (nfds > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    std::memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
  }
  return sendmsg(fd, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}

// Receives one message and up to 4 fds (closed-on-exec). Returns false on EOF or error.
bool receive_message(int fd, std::string* text, std::vector<UniqueFd>* fds) {
  char buf[kMaxMessage];
  iovec iov{buf, sizeof buf};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  text->assign(buf, static_cast<size_t>(n));
  fds->clear();
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int received[4];
    std::memcpy(received, CMSG_DATA(c), sizeof(int) * std::min<size_t>(count, 4));
    for (size_t i = 0; i < count && i < 4; ++i) fds->emplace_back(received[i]);
  }
  return true;
}

bool wait_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int r;
  do {
    r = poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  return r > 0;
}

int thread_count() {
  int count = 0;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (dirent* e = readdir(dir)) count += e->d_name[0] != '.';
    closedir(dir);
  }
  return count;
}

std::string signal_text(int sig) {
  const char* name = sigabbrev_np(sig);
  return name ? std::string("SIG") + name : "signal " + std::to_string(sig);
}

// The zygote's side of its start-up: each step is announced to the server before it is taken,
// so that the server can name it if the zygote dies in it (a crash cannot report itself). A
// fault injected for tests (ZygoteArgs::fault, "STEP:crash", "STEP:fail" or "STEP:hang") is
// applied here, on entering its step.
class StartUp {
 public:
  StartUp(int channel, const std::string& fault) : channel_(channel) {
    const size_t colon = fault.rfind(':');
    if (colon != std::string::npos) {
      fault_step_ = fault.substr(0, colon);
      fault_kind_ = fault.substr(colon + 1);
    }
  }

  // Announces `step`. False if a "fail" fault is injected into it (the caller reports it).
  bool enter(const char* step) {
    step_ = step;
    send_message(channel_, std::string("STEP ") + step, nullptr, 0);
    if (step_ != fault_step_) return true;
    if (fault_kind_ == "crash") {
      rlimit none{0, 0};
      setrlimit(RLIMIT_CORE, &none);  // a crash on purpose leaves no core file behind
      signal(SIGILL, SIG_DFL);
      raise(SIGILL);
    }
    if (fault_kind_ == "hang")
      while (true) pause();  // as a preload stuck on a lock or starved of CPU would
    return fault_kind_ != "fail";
  }

  // Reports that the current step failed; the zygote then exits with the returned code.
  int failed(const std::string& reason) {
    send_message(channel_, "FAILED " + step_ + ": " + reason, nullptr, 0);
    return 1;
  }
  int injected_failure() { return failed(kInjectedFailure); }

 private:
  int channel_;
  std::string step_, fault_step_, fault_kind_;
};

// Dies with the server; if it is already gone, returns false (the zygote must not start).
bool die_with_server(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  return getppid() == parent;  // (the server may itself be PID 1, in a container)
}

// The sealed std streams are built on fds 0-2 (a child replaces what is under them), so those
// must be open even if the server was started with one closed.
void open_std_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) < 0) open("/dev/null", O_RDWR);  // takes the lowest free fd: `fd`
  }
}

// The interpreter with the preload imported, sealed and frozen: what every child starts from.
// `warm` adds the optional steps that make forks and runs cheaper (a plain zygote skips them).
// Null after a failure, which has been reported.
std::optional<PythonRuntime> start_python(const Config& config, bool warm, StartUp& steps,
                                          int* exit_code) {
  auto failed = [&](const std::string& reason) {
    *exit_code = steps.failed(reason);
    return std::nullopt;
  };
  if (warm) {
    if (!steps.enter("install_contiguous_arenas")) return failed(kInjectedFailure);
    install_contiguous_arenas();  // before the interpreter allocates its first arena
  }
  if (!steps.enter("start_python")) return failed(kInjectedFailure);
  auto runtime = PythonRuntime::start(config);
  if (!runtime.ok()) return failed(runtime.status().message());
  if (!steps.enter("preload")) return failed(kInjectedFailure);
  if (auto s = runtime->preload(config.python.preload); !s.ok()) return failed(s.message());
  if (warm) {
    if (!steps.enter("warm_up")) return failed(kInjectedFailure);
    runtime->warm_up();
  }
  if (!steps.enter("seal")) return failed(kInjectedFailure);
  if (auto s = runtime->seal(); !s.ok()) return failed(s.message());
  if (warm) {
    if (!steps.enter("locate_rng_states")) return failed(kInjectedFailure);
    runtime->locate_rng_states();
  }
  runtime->freeze();
  // Forking a process with threads (BLAS, OpenMP) deadlocks the child: refuse to start. (The
  // memory-layout steps need a single thread too.)
  if (!steps.enter("check_single_thread")) return failed(kInjectedFailure);
  if (int threads = thread_count(); threads != 1) {
    return failed("the preload left " + std::to_string(threads) +
                  " threads running; forking would be unsafe");
  }
  return std::move(runtime.value());
}

// The memory-layout steps of a warm zygote, in order (each explained in its header): fewer
// copy-on-write faults, mappings and page-table entries per fork. Each is best effort on its
// own; a crash in one is what makes the pool fall back to a plain zygote.
struct LayoutStep {
  const char* name;
  void (*run)(PythonRuntime& runtime);
};
constexpr LayoutStep kLayoutSteps[] = {
    {"fill_object_pools", [](PythonRuntime& python) { python.fill_object_pools(); }},
    {"fill_malloc_free_chunks", [](PythonRuntime&) { fill_malloc_free_chunks(); }},
    {"merge_library_mappings", [](PythonRuntime&) { merge_library_mappings(); }},
    {"anonymize_library_data", [](PythonRuntime&) { anonymize_library_data(); }},
    {"collapse_heap_to_huge_pages", [](PythonRuntime&) { collapse_heap_to_huge_pages(); }},
    {"collapse_text_to_huge_pages",
     [](PythonRuntime&) { collapse_text_to_huge_pages(PythonRuntime::interpreter_code()); }},
};

// False if a fault was injected into a step (the caller reports it).
bool lay_out_memory(PythonRuntime& runtime, StartUp& steps) {
  for (const auto& step : kLayoutSteps) {
    if (!steps.enter(step.name)) return false;
    step.run(runtime);
  }
  return true;
}

// Answers SPAWN requests until the server closes the channel.
int serve_spawns(int channel, const ChildSpec& spec) {
  std::string text;
  std::vector<UniqueFd> fds;
  while (receive_message(channel, &text, &fds)) {
    if (text != "SPAWN" || fds.size() != 4) {
      send_message(channel, "ERR bad request", nullptr, 0);
      continue;
    }
    ChildChannels ends{std::move(fds[0]), std::move(fds[1]), std::move(fds[2]), std::move(fds[3])};
    auto child = spawn_child(spec, ends, /*sibling=*/true);
    if (!child.ok()) {
      send_message(channel, "ERR " + child.status().message(), nullptr, 0);
      continue;
    }
    int pidfd = child->pidfd.get();
    send_message(channel, "OK " + std::to_string(child->pid), &pidfd, 1);
  }
  return 0;
}

}  // namespace

const char* zygote_mode_name(ZygoteMode mode) {
  switch (mode) {
    case ZygoteMode::kWarm:
      return "warm";
    case ZygoteMode::kPlain:
      return "plain";
    case ZygoteMode::kCold:
      return "cold";
  }
  return "?";
}

const std::vector<ZygoteStep>& zygote_steps() {
  // In the order zygote_main takes them. Optional: skipped by a plain zygote.
  static const std::vector<ZygoteStep> steps = {
      {"load_config", false},
      {"build_plan", false},
      {"contain_zygote_start", false},
      {"install_contiguous_arenas", true},
      {"start_python", false},
      {"preload", false},
      {"warm_up", true},
      {"seal", false},
      {"locate_rng_states", true},  // the direct RNG reseed of each child
      {"check_single_thread", false},
      {"fill_object_pools", true},
      {"fill_malloc_free_chunks", true},
      {"merge_library_mappings", true},
      {"anonymize_library_data", true},
      {"collapse_heap_to_huge_pages", true},
      {"collapse_text_to_huge_pages", true},
      {"contain_zygote_root", false},
  };
  return steps;
}

bool is_optional_zygote_step(const std::string& step) {
  for (const auto& s : zygote_steps()) {
    if (step == s.name) return s.optional;
  }
  return false;
}

int zygote_main(const ZygoteArgs& args) {
  if (!die_with_server(args.parent)) return 1;
  signal(SIGPIPE, SIG_IGN);
  StartUp steps(args.channel_fd, args.fault);
  if (!steps.enter("load_config")) return steps.injected_failure();
  auto config = load_config(args.config_path);
  if (!config.ok()) return steps.failed(config.status().message());
  if (!steps.enter("build_plan")) return steps.injected_failure();
  auto plan = sandbox::build_plan(*config);
  if (!plan.ok()) return steps.failed(plan.status().message());
  sandbox::StepError err;
  if (!steps.enter("contain_zygote_start")) return steps.injected_failure();
  if (!sandbox::contain_zygote_start(*plan, &err)) return steps.failed(err.text);
  open_std_fds();

  std::optional<PythonRuntime> warm;
  if (args.mode != ZygoteMode::kCold) {
    const bool layout = args.mode == ZygoteMode::kWarm;
    int exit_code = 0;
    warm = start_python(*config, layout, steps, &exit_code);
    if (!warm) return exit_code;
    if (layout && !lay_out_memory(*warm, steps)) return steps.injected_failure();
    // Preloaded matplotlib already has its font list: warm runs need no copy of it in /tmp.
    plan->tmp_seeds.clear();
    if (!steps.enter("contain_zygote_root")) return steps.injected_failure();
    if (!sandbox::contain_zygote_root(&plan.value(), &err)) return steps.failed(err.text);
  }
  ChildSpec spec{&plan.value(), &config.value(), warm ? &*warm : nullptr};
  // Forking and confining the next children must not take CPU from runs in progress; each
  // child gets normal priority back from the server when it is given a request.
  to_background(0);
  if (!send_message(args.channel_fd, "READY", nullptr, 0)) return 1;
  return serve_spawns(args.channel_fd, spec);  // until the server closes the channel
}

Result<std::unique_ptr<Zygote>> Zygote::start(const Launch& launch, ZygoteStartFailure* failure) {
  ZygoteStartFailure ignored;
  if (failure == nullptr) failure = &ignored;
  *failure = ZygoteStartFailure();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return Status::Sys("socketpair(zygote)", errno);
  UniqueFd ours(sv[0]), theirs(sv[1]);

  // A clean exec: a fresh single-threaded process (the server has many threads), and an
  // environment with nothing of ours in it.
  std::vector<std::string> args = {
      "pyrunner", "zygote",           "--channel-fd", "3",
      "--config", launch.config_path, "--mode",       zygote_mode_name(launch.mode)};
  if (!launch.fault.empty()) args.insert(args.end(), {"--fault", launch.fault});
  args.insert(args.end(), {"--parent-pid", std::to_string(getpid())});
  std::vector<std::string> env = sandbox::sandbox_environment();
  for (auto& e : env) {
    // The zygote keeps matplotlib's font cache across restarts instead of rebuilding it in /tmp.
    if (e.rfind("MPLCONFIGDIR=", 0) == 0) e = "MPLCONFIGDIR=" + launch.font_cache;
  }
  // Every symbol of every library bound at load, in the zygote, once: otherwise each child
  // resolves the lazy ones it calls (~16 faults and a symbol lookup each, per run). The runs'
  // own environment is set separately and does not have it.
  env.push_back("LD_BIND_NOW=1");
  auto spawned = spawn_clean("/proc/self/exe", args, env, {{theirs.get(), 3}}, /*quiet=*/false);
  if (!spawned.ok()) return spawned.status();
  const pid_t pid = spawned.value();
  theirs.reset();

  std::unique_ptr<Zygote> zygote(new Zygote());
  zygote->pid_ = pid;
  zygote->pidfd_.reset(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  zygote->channel_ = std::move(ours);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kStartTimeoutMs);
  std::string step, text;
  std::vector<UniqueFd> fds;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!wait_readable(zygote->channel_.get(), std::max<int>(0, left.count())) ||
        !receive_message(zygote->channel_.get(), &text, &fds))
      return Status::Error(zygote->start_up_death(step, failure));
    if (text.rfind("STEP ", 0) == 0) {
      step = text.substr(5);
      continue;
    }
    failure->step = step;
    if (text.rfind("FAILED ", 0) == 0) return Status::Error("zygote: " + text.substr(7));
    if (text != "READY") return Status::Error("zygote: unexpected message: " + text.substr(0, 80));
    return zygote;
  }
}

std::string Zygote::start_up_death(const std::string& step, ZygoteStartFailure* failure) {
  failure->step = step;
  const std::string in_step = step.empty() ? "" : ", in step " + step;
  // The channel closes when the process exits; give it a moment to be reaped. A zygote whose
  // channel is still open is hung: kill it.
  pollfd p{pidfd_.get(), POLLIN, 0};
  const bool exited = pidfd_.valid() && poll(&p, 1, 5000) > 0;
  if (!exited && pidfd_.valid()) syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
  siginfo_t info{};
  const bool reaped =
      pidfd_.valid() &&
      waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info, WEXITED) == 0;
  if (reaped) pid_ = -1;  // reaped: the destructor must not wait for a pid that may be reused
  if (!exited) {
    failure->crashed = true;
    return "zygote: hung during start-up" + in_step + " (killed after " +
           std::to_string(kStartTimeoutMs / 1000) + " s)";
  }
  if (reaped && (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED)) {
    // SIGKILL comes from outside (the OOM killer, an operator): not a step breaking on this host.
    failure->crashed = info.si_status != SIGKILL;
    return "zygote: killed by " + signal_text(info.si_status) + " during start-up" + in_step;
  }
  if (reaped && info.si_code == CLD_EXITED)
    return "zygote: exited with code " + std::to_string(info.si_status) +
           " during start-up without saying why" + in_step;
  return "zygote: exited during start-up" + in_step;
}

Zygote::~Zygote() {
  channel_.reset();  // EOF: the zygote leaves its loop and exits
  if (pid_ > 0) {
    if (pidfd_.valid()) syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    waitpid(pid_, nullptr, 0);
  }
}

bool Zygote::alive() const {
  if (!pidfd_.valid()) return false;
  pollfd p{pidfd_.get(), POLLIN, 0};
  return poll(&p, 1, 0) == 0;
}

Result<SpawnedChild> Zygote::spawn(const ChildChannels& ends) {
  std::lock_guard<std::mutex> lock(mutex_);
  int fds[4] = {ends.stdin_r.get(), ends.stdout_w.get(), ends.stderr_w.get(), ends.control.get()};
  if (!send_message(channel_.get(), "SPAWN", fds, 4))
    return Status::Sys("sendmsg(zygote SPAWN)", errno);
  std::string text;
  std::vector<UniqueFd> received;
  if (!wait_readable(channel_.get(), kSpawnTimeoutMs) ||
      !receive_message(channel_.get(), &text, &received))
    return Status::Error("zygote: no answer to SPAWN (it died or hung)");
  if (text.rfind("ERR ", 0) == 0) return Status::Error("zygote: " + text.substr(4));
  if (text.rfind("OK ", 0) != 0 || received.size() != 1)
    return Status::Error("zygote: bad answer: " + text.substr(0, 80));
  SpawnedChild child;
  child.pid = static_cast<pid_t>(std::strtol(text.c_str() + 3, nullptr, 10));
  child.pidfd = std::move(received[0]);
  return child;
}

}  // namespace pyrunner
