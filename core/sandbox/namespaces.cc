#include "core/sandbox/namespaces.h"

#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace pyrunner::sandbox {

std::vector<std::string> namespace_names(int clone_flags) {
  std::vector<std::string> names;
  for (const auto& ns : kRunNamespaces) {
    if (clone_flags & ns.clone_flag) names.push_back(ns.name);
  }
  return names;
}

std::string namespace_flag_names(int clone_flags) {
  std::string text;
  for (const auto& ns : kRunNamespaces) {
    if (!(clone_flags & ns.clone_flag)) continue;
    if (!text.empty()) text += "|";
    text += ns.flag_name;
  }
  return text;
}

pid_t clone_into_namespaces(bool sibling, int* pidfd) {
  unsigned long flags = static_cast<unsigned long>(namespace_clone_flags()) | CLONE_PIDFD | SIGCHLD;
  if (sibling) flags |= CLONE_PARENT;
  // Raw clone (no new stack): the child continues here like after fork(). glibc has no
  // wrapper that takes namespace flags and CLONE_PIDFD without a separate stack.
  return static_cast<pid_t>(syscall(SYS_clone, flags, nullptr, pidfd, nullptr, nullptr));
}

}  // namespace pyrunner::sandbox
