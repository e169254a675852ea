#include "core/util/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>

#include "core/util/fd.h"

namespace pyrunner {

Result<std::string> capture_output(const std::vector<std::string>& args,
                                   const std::vector<std::string>& env, int timeout_ms) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Status::Sys("pipe2", errno);
  UniqueFd read_end(out[0]), write_end(out[1]);
  std::vector<std::string> args_copy = args, env_copy = env;
  std::vector<char*> argv, envp;
  for (auto& a : args_copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_copy) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  write_end.reset();
  if (rc != 0) return Status::Sys("posix_spawn(\"" + args[0] + "\")", rc);

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
  if (!eof) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!eof)
    return Status::Error(args[0] + ": no answer within " + std::to_string(timeout_ms) + " ms");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return Status::Error(args[0] + ": failed");
  return text;
}

}  // namespace pyrunner
