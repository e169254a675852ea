#include "core/executor/child.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>

#include "core/sandbox/contain.h"
#include "core/sandbox/namespaces.h"
#include "core/sandbox/rlimits.h"

namespace pyrunner {
namespace {

void say(const char* tag, const char* text) {
  char line[512];
  int n = snprintf(line, sizeof line, "%s%s%s\n", tag, *text ? " " : "", text);
  write_all(3, line, static_cast<size_t>(n < static_cast<int>(sizeof line) ? n : sizeof line - 1));
}

// "R": confined and ready, with an O_PATH fd of the working directory we are in.
void say_ready() {
  const int workdir = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (workdir < 0) {
    say("E", "sandbox: open(the working directory, O_PATH) failed");
    _exit(kSetupFailed);
  }
  char line[] = "R\n";
  iovec iov{line, 2};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* m = CMSG_FIRSTHDR(&msg);
  m->cmsg_level = SOL_SOCKET;
  m->cmsg_type = SCM_RIGHTS;
  m->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(m), &workdir, sizeof workdir);
  ssize_t n;
  do {
    n = sendmsg(3, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  close(workdir);
  if (n != 2) _exit(kSetupFailed);  // the parent is gone or gave up on us
}

[[noreturn]] void setup_failed(const char* text) {
  say("E", text);
  _exit(kSetupFailed);
}

// Moves the four channel ends to fds 0-3 and closes everything else: FD_CLOEXEC means nothing
// without exec, so every other fd the parent had would otherwise stay open in the run.
void install_fds(const ChildChannels& ends) {
  int fds[4] = {ends.stdin_r.get(), ends.stdout_w.get(), ends.stderr_w.get(), ends.control.get()};
  int high[4];
  for (int i = 0; i < 4; ++i) high[i] = fcntl(fds[i], F_DUPFD, 16);  // out of the way of 0-3
  for (int i = 0; i < 4; ++i) {
    if (high[i] < 0 || dup2(high[i], i) != i) _exit(kSetupFailed);
  }
  syscall(SYS_close_range, 4U, ~0U, 0U);
}

// One buffer for the request's metadata, code and files (NUL-terminated), or null.
char* read_payload(const RequestHeader& header) {
  const size_t total = size_t{header.meta_size} + header.code_size + header.data_size;
  char* buffer = static_cast<char*>(std::malloc(total + 1));
  if (buffer == nullptr || !read_exact(3, buffer, total)) {
    std::free(buffer);
    return nullptr;
  }
  buffer[total] = '\0';
  return buffer;
}

RunPayload payload_of(const RequestHeader& header, const char* buffer) {
  return RunPayload{buffer + header.meta_size,
                    header.code_size,
                    buffer,
                    header.meta_size,
                    buffer + header.meta_size + header.code_size,
                    header.data_size};
}

[[noreturn]] void runner_broken(const Status& s) {
  std::string text = s.message() + "\n";
  (void)!write(2, text.data(), text.size());
  _exit(kSetupFailed);
}

// Receives a session run's header and its three fds (stdin, stdout, stderr). False at EOF: the
// parent ended the session.
bool receive_session_request(RequestHeader* header, int fds[3]) {
  iovec iov{header, sizeof *header};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 3)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(3, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof *header)) return false;
  int got = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    got = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    if (got == 3) std::memcpy(fds, CMSG_DATA(c), sizeof(int) * 3);
  }
  return got == 3;
}

// Puts `fds` (or /dev/null three times) under the std streams.
void install_streams(const int fds[3]) {
  for (int i = 0; i < 3; ++i) dup2(fds[i], i);
}

// A session's life: each request brings its own std streams, which are swapped in for the run
// and out after it (on /dev/null in between: what the code leaves running writes nowhere).
[[noreturn]] void session_loop(const PythonRuntime& python) {
  const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  const int parked[3] = {null_fd, null_fd, null_fd};
  install_streams(parked);
  for (;;) {
    RequestHeader header;
    int fds[3];
    if (!receive_session_request(&header, fds)) _exit(0);
    if (header.magic != kRequestMagic || header.kind != RequestKind::kSessionRun)
      setup_failed("protocol: bad session request");
    char* buffer = read_payload(header);
    if (buffer == nullptr) setup_failed("protocol: short session request");
    install_streams(fds);
    for (int fd : fds) close(fd);
    Status s = python.run_in_session(payload_of(header, buffer), 3);
    install_streams(parked);  // closes this run's pipes: the parent sees their end
    std::free(buffer);
    if (!s.ok()) runner_broken(s);
  }
}

[[noreturn]] void child_main(const ChildSpec& spec, const ChildChannels& ends) {
  install_fds(ends);
  // No signal blocked, whatever our parent had blocked: the program's handlers (and a
  // session's KeyboardInterrupt at its timeout) must see their signals.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (spec.warm != nullptr) PythonRuntime::after_fork_child();
  sandbox::StepError err;
  if (!sandbox::contain(*spec.plan, &err)) setup_failed(err.text);
  // A cold child starts its interpreter now, before saying ready: the start overlaps the
  // parent's cgroup work, and RLIMIT_DATA (set per request) then covers the user's code only,
  // exactly as for a warm child.
  std::optional<PythonRuntime> cold;
  const PythonRuntime* python = spec.warm;
  if (python == nullptr) {
    auto started = PythonRuntime::start(*spec.config);
    if (!started.ok()) setup_failed(started.status().message().c_str());
    cold.emplace(std::move(started.value()));
    python = &*cold;
  }
  if (auto prepared = python->prepare_run(); !prepared.ok())
    setup_failed(prepared.message().c_str());
  unsigned long long mapped = 0;
  if (!sandbox::mapped_data_bytes(&mapped, &err)) setup_failed(err.text);
  say_ready();

  RequestHeader header;
  if (!read_exact(3, &header, sizeof header)) _exit(0);  // the parent discarded us unused
  if (header.magic != kRequestMagic ||
      (header.kind != RequestKind::kRun && header.kind != RequestKind::kSessionStart))
    setup_failed("protocol: bad request header");
  char* buffer = read_payload(header);
  if (buffer == nullptr) setup_failed("protocol: short request");
  // Set after the request is read: the data limit then covers the user's code only.
  if (!sandbox::limit_data(mapped, header.memory_bytes, &err)) setup_failed(err.text);
  const RunPayload payload = payload_of(header, buffer);
  if (header.kind == RequestKind::kRun) python->run_and_exit(payload, 3);
  if (auto s = python->start_session(payload, 3); !s.ok()) runner_broken(s);
  std::free(buffer);
  session_loop(*python);
}

}  // namespace

Status make_channels(ParentChannels* parent, ChildChannels* child) {
  int in[2], out[2], err[2], control[2];
  if (pipe2(in, O_CLOEXEC) != 0) return Status::Sys("pipe2(stdin)", errno);
  parent->stdin_w.reset(in[1]);
  child->stdin_r.reset(in[0]);
  if (pipe2(out, O_CLOEXEC) != 0) return Status::Sys("pipe2(stdout)", errno);
  parent->stdout_r.reset(out[0]);
  child->stdout_w.reset(out[1]);
  if (pipe2(err, O_CLOEXEC) != 0) return Status::Sys("pipe2(stderr)", errno);
  parent->stderr_r.reset(err[0]);
  child->stderr_w.reset(err[1]);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, control) != 0)
    return Status::Sys("socketpair(control)", errno);
  parent->control.reset(control[0]);
  child->control.reset(control[1]);
  // Output is read as it comes: a bigger pipe means fewer wake-ups for chatty programs.
  fcntl(parent->stdout_r.get(), F_SETPIPE_SZ, 1 << 20);
  return Status::Ok();
}

Result<SpawnedChild> spawn_child(const ChildSpec& spec, const ChildChannels& ends, bool sibling) {
  int pidfd = -1;
  if (spec.warm != nullptr) PythonRuntime::before_fork();
  pid_t pid = sandbox::clone_into_namespaces(sibling, &pidfd);
  if (pid == 0) child_main(spec, ends);
  int saved = errno;
  if (spec.warm != nullptr) PythonRuntime::after_fork_parent();
  if (pid < 0)
    return Status::Sys(
        "clone(" + sandbox::namespace_flag_names(sandbox::namespace_clone_flags()) + ")", saved);
  SpawnedChild child;
  child.pid = pid;
  child.pidfd.reset(pidfd);
  return child;
}

}  // namespace pyrunner
