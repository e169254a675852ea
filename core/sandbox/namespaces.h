#pragma once
/// Creating the run's process in its own namespaces. The table below is the one list of them:
/// clone() takes its flags from it, and the clone error, the server's start-up line and GET /
/// name them from it.

#include <sched.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace pyrunner::sandbox {

struct RunNamespace {
  int clone_flag;         // CLONE_NEW*
  const char* name;       // as GET / and the logs name it
  const char* flag_name;  // "CLONE_NEWPID", for error messages
};

/// Every namespace a run gets, in the order they are reported. Why each:
///   pid     it sees only its own processes and cannot signal the server or other runs
///   mount   a root of its own: read-only views of what Python needs, private /tmp and /proc
///   network only a loopback that is down: no network at all
///   ipc     no System V or POSIX message queues, semaphores or shared memory with other runs
///   uts     a hostname of its own
///   cgroup  /proc/self/cgroup shows its own cgroup as the root, not the host's hierarchy
inline constexpr RunNamespace kRunNamespaces[] = {
    {CLONE_NEWPID, "pid", "CLONE_NEWPID"},     {CLONE_NEWNS, "mount", "CLONE_NEWNS"},
    {CLONE_NEWNET, "network", "CLONE_NEWNET"}, {CLONE_NEWIPC, "ipc", "CLONE_NEWIPC"},
    {CLONE_NEWUTS, "uts", "CLONE_NEWUTS"},     {CLONE_NEWCGROUP, "cgroup", "CLONE_NEWCGROUP"},
};

/// The clone flags of every namespace in kRunNamespaces: what clone_into_namespaces uses.
constexpr int namespace_clone_flags() {
  int flags = 0;
  for (const auto& ns : kRunNamespaces) flags |= ns.clone_flag;
  return flags;
}

/// The names (RunNamespace::name) of the namespaces in kRunNamespaces whose flag is in
/// `clone_flags`, in table order.
std::vector<std::string> namespace_names(int clone_flags);

/// "CLONE_NEWPID|CLONE_NEWNS|..." for the namespace flags in `clone_flags`, in table order.
std::string namespace_flag_names(int clone_flags);

/// clone() into new namespaces, like fork(): returns 0 in the child, the child's pid in the
/// parent (with *pidfd set), -1 on error. `sibling` (CLONE_PARENT) makes the child a child of
/// our parent: the warm zygote creates runs the server itself can wait for and kill.
/// Only call from a single-threaded process.
pid_t clone_into_namespaces(bool sibling, int* pidfd);

}  // namespace pyrunner::sandbox
