#include "core/pool/zygote.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cstring>
#include <vector>

#include "core/executor/python_runtime.h"
#include "core/executor/scheduling.h"
#include "core/pool/arenas.h"
#include "core/pool/hugepages.h"
#include "core/pool/malloc_fill.h"
#include "core/pool/mappings.h"
#include "core/sandbox/credentials.h"
#include "core/sandbox/environment.h"
#include "core/sandbox/host.h"
#include "core/sandbox/mounts.h"
#include "core/sandbox/plan.h"
#include "core/util/process.h"

namespace pyrunner {
namespace {

constexpr int kStartTimeoutMs = 120000;  // a cold page cache makes the first preload slow
constexpr int kSpawnTimeoutMs = 10000;
constexpr size_t kMaxMessage = 1024;

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

int fail_start(int channel, const std::string& reason) {
  send_message(channel, "FAILED " + reason, nullptr, 0);
  return 1;
}

}  // namespace

int zygote_main(const std::string& config_path, int channel, bool cold, pid_t parent) {
  // Die with the server; if it is already gone, do not start at all.
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != parent) return 1;  // (the server may itself be PID 1, in a container)
  signal(SIGPIPE, SIG_IGN);
  auto config = load_config(config_path);
  if (!config.ok()) return fail_start(channel, config.status().message());
  auto plan = sandbox::build_plan(*config);
  if (!plan.ok()) return fail_start(channel, plan.status().message());
  // Every child would empty the capability bounding set it inherits: empty ours once instead.
  // (We keep the capabilities we hold; we never exec.)
  if (sandbox::StepError err; !sandbox::drop_bounding_set(*plan, &err))
    return fail_start(channel, err.text);

  // The sealed std streams are built on fds 0-2 (a child replaces what is under them), so those
  // must be open even if the server was started with one closed.
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) < 0) open("/dev/null", O_RDWR);  // takes the lowest free fd: `fd`
  }
  std::optional<PythonRuntime> warm;
  if (!cold) {
    install_contiguous_arenas();  // before the interpreter allocates its first arena
    auto runtime = PythonRuntime::start(*config);
    if (!runtime.ok()) return fail_start(channel, runtime.status().message());
    if (auto s = runtime->preload(config->python.preload); !s.ok())
      return fail_start(channel, s.message());
    runtime->warm_up();
    if (auto s = runtime->seal(); !s.ok()) return fail_start(channel, s.message());
    runtime->freeze();
    // Forking a process with threads (BLAS, OpenMP) deadlocks the child: refuse to start. (The
    // allocator fills and address-space passes below need a single thread too.)
    if (int threads = thread_count(); threads != 1) {
      return fail_start(channel, "the preload left " + std::to_string(threads) +
                                     " threads running; forking would be unsafe");
    }
    runtime->fill_object_pools();
    fill_malloc_free_chunks();
    merge_library_mappings();
    anonymize_library_data();
    collapse_heap_to_huge_pages();
    collapse_text_to_huge_pages(PythonRuntime::interpreter_code());
    warm = std::move(runtime.value());
    // Preloaded matplotlib already has its font list: warm runs need no copy of it in /tmp.
    plan->tmp_seeds.clear();
    // The part of the root that is the same for every run is built once, in a mount namespace
    // of our own, and we move into it: each child's mount namespace is a copy, so a child
    // mounts only its own /tmp, /dev/shm and /proc (mounts.h). Our environment is reset once
    // for all of them too; the host's filesystem is out of reach from here on.
    sandbox::StepError err;
    if (unshare(CLONE_NEWNS) != 0)
      return fail_start(channel, std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno));
    if (!sandbox::reset_environment(*plan, &err) || !sandbox::build_root_template(*plan, &err))
      return fail_start(channel, err.text);
    plan->prebuilt_root = true;
  }
  ChildSpec spec{&plan.value(), &config.value(), warm ? &*warm : nullptr};
  // Forking and confining the next children must not take CPU from runs in progress; each
  // child gets normal priority back from the server when it is given a request.
  to_background(0);
  if (!send_message(channel, "READY", nullptr, 0)) return 1;

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
  return 0;  // the server closed the channel
}

Result<std::unique_ptr<Zygote>> Zygote::start(const std::string& config_path, bool cold,
                                              const std::string& font_cache) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return Status::Sys("socketpair(zygote)", errno);
  UniqueFd ours(sv[0]), theirs(sv[1]);

  // A clean exec: a fresh single-threaded process (the server has many threads), and an
  // environment with nothing of ours in it.
  std::vector<std::string> args = {"pyrunner", "zygote",   "--channel-fd",
                                   "3",        "--config", config_path};
  if (cold) args.push_back("--cold");
  args.insert(args.end(), {"--parent-pid", std::to_string(getpid())});
  std::vector<std::string> env = sandbox::sandbox_environment();
  for (auto& e : env) {
    // The zygote keeps matplotlib's font cache across restarts instead of rebuilding it in /tmp.
    if (e.rfind("MPLCONFIGDIR=", 0) == 0) e = "MPLCONFIGDIR=" + font_cache;
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
  std::string text;
  std::vector<UniqueFd> fds;
  if (!wait_readable(zygote->channel_.get(), kStartTimeoutMs) ||
      !receive_message(zygote->channel_.get(), &text, &fds)) {
    return Status::Error("zygote: exited or hung during start-up");
  }
  if (text.rfind("FAILED ", 0) == 0) return Status::Error("zygote: " + text.substr(7));
  if (text != "READY") return Status::Error("zygote: unexpected message: " + text.substr(0, 80));
  return zygote;
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
