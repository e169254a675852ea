#include "core/sandbox/namespaces.h"

#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace pyrunner::sandbox {

int namespace_clone_flags() {
  return CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
}

pid_t clone_into_namespaces(bool sibling, int* pidfd) {
  unsigned long flags = static_cast<unsigned long>(namespace_clone_flags()) | CLONE_PIDFD | SIGCHLD;
  if (sibling) flags |= CLONE_PARENT;
  // Raw clone (no new stack): the child continues here like after fork(). glibc has no
  // wrapper that takes namespace flags and CLONE_PIDFD without a separate stack.
  return static_cast<pid_t>(syscall(SYS_clone, flags, nullptr, pidfd, nullptr, nullptr));
}

}  // namespace pyrunner::sandbox
