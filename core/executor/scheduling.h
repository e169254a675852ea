#pragma once
/// CPU priority of work that is off a request's path: the zygote and the children it pre-forks
/// (until one is given a request), the pool's refilling, and the teardown of finished runs.
///
/// That work runs as SCHED_IDLE: it gets a CPU only when no run or request thread wants one,
/// and yields it the moment one wakes. Nice 10 was not enough: a forking zygote kept its time
/// slice and held a woken request thread off the CPU for ~2 ms. A child is switched back to
/// SCHED_OTHER when it is given a request, which for a process of another uid takes
/// CAP_SYS_NICE; without it nothing is put in the background (a run stuck in SCHED_IDLE would
/// crawl on a busy host), and refills compete with runs as equals.

#include <sys/types.h>

namespace pyrunner {

/// Whether this process may take other processes out of SCHED_IDLE (CAP_SYS_NICE).
bool background_scheduling_available();

/// Puts thread or process `id` (0: the calling thread) in the background, if available.
void to_background(pid_t id);
/// Gives process `pid` (0: the calling thread) normal priority again (a pre-forked child that
/// is given a request; the pool's thread while it starts a zygote).
void to_foreground(pid_t pid);

}  // namespace pyrunner
