#include "core/executor/child.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
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

[[noreturn]] void child_main(const ChildSpec& spec, const ChildChannels& ends) {
  install_fds(ends);
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
  say("R", "");

  RequestHeader header;
  if (!read_exact(3, &header, sizeof header)) _exit(0);  // the parent discarded us unused
  if (header.magic != kRequestMagic) setup_failed("protocol: bad request header");
  // One buffer for the metadata, the code and the files, read before the data limit is set: it
  // then covers the user's code only.
  const size_t total = size_t{header.meta_size} + header.code_size + header.data_size;
  char* buffer = static_cast<char*>(std::malloc(total + 1));
  if (buffer == nullptr || !read_exact(3, buffer, total)) setup_failed("protocol: short request");
  buffer[total] = '\0';
  if (!sandbox::limit_data(mapped, header.memory_bytes, &err)) setup_failed(err.text);

  RunPayload payload{buffer + header.meta_size,
                     header.code_size,
                     buffer,
                     header.meta_size,
                     buffer + header.meta_size + header.code_size,
                     header.data_size};
  python->run_and_exit(payload, 3);
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
