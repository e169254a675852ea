#include "core/executor/spawner.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "core/util/process.h"

namespace pyrunner {
namespace {

// Reads one '\n'-terminated line from `fd` within the deadline.
bool read_line(int fd, std::string* line, int timeout_ms) {
  line->clear();
  char c;
  while (line->size() < 1024) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    if (read(fd, &c, 1) != 1) return false;
    if (c == '\n') return true;
    *line += c;
  }
  return false;
}

}  // namespace

ReadyChild::~ReadyChild() { kill_and_reap(pidfd.get()); }

bool child_exited(const ReadyChild& child) {
  pollfd p{child.pidfd.get(), POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

Result<std::unique_ptr<ReadyChild>> start_child(Spawner& spawner, sandbox::CgroupManager* cgroups) {
  auto child = std::make_unique<ReadyChild>();
  ChildChannels ends;
  if (auto s = make_channels(&child->io, &ends); !s.ok()) return s;
  if (cgroups != nullptr) {
    auto cgroup = cgroups->create_run();
    if (!cgroup.ok()) return cgroup.status();
    child->cgroup = std::move(cgroup.value());
  }
  auto spawned = spawner.spawn(ends);
  if (!spawned.ok()) return spawned.status();
  child->pid = spawned->pid;
  child->pidfd = std::move(spawned->pidfd);
  ends = ChildChannels();  // close our copies of the child's ends: EOF must mean the child is gone
  // Joined from outside while the child confines itself; it runs no user code before it has
  // been sent a request, which happens only after this.
  if (child->cgroup) {
    if (auto s = child->cgroup->attach(child->pid); !s.ok()) return s;
  }
  return child;
}

Status await_ready(ReadyChild& child, int timeout_ms) {
  std::string line;
  if (!read_line(child.io.control.get(), &line, timeout_ms)) {
    return Status::Error("sandbox: the child exited or hung before it was confined");
  }
  if (line.rfind("E ", 0) == 0) return Status::Error(line.substr(2));
  if (line != "R")
    return Status::Error("sandbox: unexpected message from child: " + line.substr(0, 80));
  return Status::Ok();
}

Result<std::unique_ptr<ReadyChild>> prepare_child(Spawner& spawner,
                                                  sandbox::CgroupManager* cgroups) {
  auto child = start_child(spawner, cgroups);
  if (!child.ok()) return child;
  if (auto s = await_ready(*child.value(), kReadyTimeoutMs); !s.ok()) return s;
  return child;
}

}  // namespace pyrunner
