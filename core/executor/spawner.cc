#include "core/executor/spawner.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cstring>

#include "core/util/process.h"

namespace pyrunner {
namespace {

// Reads one '\n'-terminated line from `fd` within the deadline. An fd sent with the line's first
// byte (SCM_RIGHTS) goes to `passed`.
bool read_line(int fd, std::string* line, int timeout_ms, UniqueFd* passed) {
  line->clear();
  char c;
  while (line->size() < 1024) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    iovec iov{&c, 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    if (line->empty()) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
    }
    if (recvmsg(fd, &msg, MSG_CMSG_CLOEXEC) != 1) return false;
    for (cmsghdr* m = CMSG_FIRSTHDR(&msg); m != nullptr; m = CMSG_NXTHDR(&msg, m)) {
      if (m->cmsg_level == SOL_SOCKET && m->cmsg_type == SCM_RIGHTS &&
          m->cmsg_len == CMSG_LEN(sizeof(int))) {
        int got;
        std::memcpy(&got, CMSG_DATA(m), sizeof got);
        passed->reset(got);
      }
    }
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
  if (!read_line(child.io.control.get(), &line, timeout_ms, &child.workdir)) {
    return Status::Error("sandbox: the child exited or hung before it was confined");
  }
  if (line.rfind("E ", 0) == 0) return Status::Error(line.substr(2));
  if (line != "R")
    return Status::Error("sandbox: unexpected message from child: " + line.substr(0, 80));
  if (!child.workdir.valid()) return Status::Error("sandbox: the child sent no working directory");
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
