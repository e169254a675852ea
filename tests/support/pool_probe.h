#pragma once
// The warm pool of a live server seen from outside: its zygote and the pre-forked children
// waiting for code. Those children are children of the server itself (the zygote clones them
// with CLONE_PARENT), so /proc/<server>/task/*/children lists them next to the zygote. A run
// that harms the pool (kills or stops waiting children, kills the zygote) shows here even
// when the pool heals it before the next request would notice.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/harness.h"

namespace pyrunner::testing {

/// A process, told apart from a later one with the same pid by its start time.
struct ProcessId {
  pid_t pid = -1;
  unsigned long long start = 0;  // /proc/<pid>/stat field 22, clock ticks since boot
};

/// The process now running as `pid` (nullopt if there is none, or it is a zombie).
std::optional<ProcessId> live_process(pid_t pid);

/// Its state letter (/proc/<pid>/stat field 3: R, S, D, T, t, Z, ...), '?' if gone.
char process_state(pid_t pid);

/// Every child of `pid`, of all its threads.
std::vector<pid_t> children_of(pid_t pid);

struct PoolSnapshot {
  pid_t zygote = -1;
  int restarts = -1;
  int size = -1;
  std::vector<ProcessId> waiting;  // the pre-forked children, all of them ready
};

/// Waits (up to `limit`) until the pool of `server` is full and quiet: no run in flight, every
/// pre-forked child ready, and no other child of the server than those and the zygote (the
/// last run's child has been reaped). nullopt if that state is not reached.
std::optional<PoolSnapshot> quiet_pool(const TestServer& server, std::chrono::milliseconds limit);

/// What happened to the pool since `before`, as readable lines (empty if nothing did). `used`
/// children were taken by runs, so exactly `used` of the waiting ones must be gone; the others
/// must still be waiting (asleep, no signal pending), and the zygote must be the same with the
/// same restart count. Waits (up to `limit`) until every child is gone or waiting.
std::vector<std::string> pool_harm(const TestServer& server, const PoolSnapshot& before, int used,
                                   std::chrono::milliseconds limit);

}  // namespace pyrunner::testing
