#include "core/util/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <chrono>

#include "core/util/fd.h"

namespace pyrunner {

bool kill_by_pidfd(int pidfd) {
  return syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) == 0;
}

Result<ExitStatus> wait_pidfd(int pidfd) {
  siginfo_t info{};
  int rc;
  do {
    rc = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return Status::Sys("waitid(P_PIDFD)", errno);
  ExitStatus status;
  status.killed = info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED;
  if (status.killed) {
    status.signal = info.si_status;
  } else {
    status.code = info.si_status;
  }
  return status;
}

void kill_and_reap(int pidfd) {
  if (pidfd < 0) return;
  kill_by_pidfd(pidfd);
  (void)wait_pidfd(pidfd);
}

Result<pid_t> spawn_clean(const std::string& path, const std::vector<std::string>& args,
                          const std::vector<std::string>& env,
                          const std::vector<std::pair<int, int>>& fds, bool quiet) {
  std::vector<std::string> args_copy = args, env_copy = env;
  std::vector<char*> argv, envp;
  for (auto& a : args_copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_copy) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (const auto& [from, to] : fds) posix_spawn_file_actions_adddup2(&actions, from, to);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (quiet) posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  // Nothing of our signal state either: the server blocks SIGTERM and SIGINT in every thread
  // (it takes them with sigwait) and ignores SIGPIPE, and a blocked mask and ignored
  // dispositions survive exec. A zygote with SIGINT blocked could never interrupt a session's
  // run, nor a run catch its own signals; with SIGTERM blocked, a run's Popen.terminate() and
  // multiprocessing's Pool could not stop their children (make compat found it).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, path.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Status::Sys("posix_spawn(\"" + path + "\")", rc);
  return pid;
}

Result<std::string> capture_output(const std::vector<std::string>& args,
                                   const std::vector<std::string>& env, int timeout_ms) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Status::Sys("pipe2", errno);
  UniqueFd read_end(out[0]), write_end(out[1]);
  auto pid = spawn_clean(args[0], args, env, {{write_end.get(), 1}}, /*quiet=*/true);
  write_end.reset();
  if (!pid.ok()) return pid.status();

  std::string text;
  char buf[4096];
  bool eof = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!eof && std::chrono::steady_clock::now() < deadline) {
    pollfd p{read_end.get(), POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    ssize_t n = read(read_end.get(), buf, sizeof buf);
    if (n > 0) text.append(buf, static_cast<size_t>(n));
    eof = n <= 0;
  }
  if (!eof) kill(*pid, SIGKILL);
  int status = 0;
  waitpid(*pid, &status, 0);
  if (!eof)
    return Status::Error(args[0] + ": no answer within " + std::to_string(timeout_ms) + " ms");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return Status::Error(args[0] + ": failed");
  return text;
}

}  // namespace pyrunner
