#pragma once
/// Creating the run's process in its own PID, mount, network, IPC, UTS and cgroup namespaces.

#include <sys/types.h>

namespace pyrunner::sandbox {

/// The namespaces every run gets. A new network namespace has only a down loopback: no
/// network at all. A new IPC namespace: no shared memory or semaphores with other runs.
int namespace_clone_flags();

/// clone() into new namespaces, like fork(): returns 0 in the child, the child's pid in the
/// parent (with *pidfd set), -1 on error. `sibling` (CLONE_PARENT) makes the child a child of
/// our parent: the warm zygote creates runs the server itself can wait for and kill.
/// Only call from a single-threaded process.
pid_t clone_into_namespaces(bool sibling, int* pidfd);

}  // namespace pyrunner::sandbox
