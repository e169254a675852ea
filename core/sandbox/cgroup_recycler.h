#pragma once
/// Run cgroups that finished runs gave back, kept for later runs. Creating and removing a v1
/// run cgroup is a mkdir and an rmdir in each of three hierarchies, each populating or clearing
/// a dozen kernfs files: ~4 % of the CPU at 8 clients here. The recycler is only the
/// bookkeeping (which cgroup is free, for how long); what an empty cgroup needs before another
/// run may use it is the version's (cgroup1.cc, cgroup2.cc).

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/util/fd.h"

namespace pyrunner::sandbox {

/// What a run cgroup carries from one run to the next.
struct RecycledCgroup {
  std::vector<std::string> dirs;        // v2: one; v1: memory, pids, cpu
  unsigned long long memory_limit = 0;  // the limit set on it (0: not set yet)
  unsigned long long oom_kills = 0;     // the cgroup's OOM kill count when this run got it
  unsigned long long memory_left = 0;   // what earlier runs left charged when this run got it
  UniqueFd peak;  // v2: memory.peak, open: its reset (Linux 6.12+) holds for this fd only
};

class CgroupRecycler {
 public:
  using Clock = std::chrono::steady_clock;
  /// Removes a cgroup the recycler will not keep (full, or idle too long).
  using Remove = std::function<void(RecycledCgroup)>;

  static constexpr size_t kCapacity = 16;  // more than a pool and its runs in flight give back
  /// Another pyrunner starting on this host removes empty run cgroups that look a minute old
  /// (CgroupManager::remove_stale_runs): none is kept idle for that long.
  static constexpr Clock::duration kMaxIdle = std::chrono::seconds(20);

  explicit CgroupRecycler(Remove remove, size_t capacity = kCapacity,
                          Clock::duration max_idle = kMaxIdle)
      : remove_(std::move(remove)), capacity_(capacity), max_idle_(max_idle) {}
  ~CgroupRecycler();  // removes every cgroup it still holds
  CgroupRecycler(const CgroupRecycler&) = delete;
  CgroupRecycler& operator=(const CgroupRecycler&) = delete;

  /// Keeps `cgroup` (empty and reset) for a later run, and removes the ones idle too long.
  /// Returns it back when the recycler is full: the caller removes it.
  std::optional<RecycledCgroup> put(RecycledCgroup cgroup, Clock::time_point now);
  /// The cgroup given back first (each gets its turn) that has not been idle too long at
  /// `now`; the expired ones are removed. Empty if there is none.
  std::optional<RecycledCgroup> take(Clock::time_point now);
  size_t size() const;

 private:
  struct Entry {
    RecycledCgroup cgroup;
    Clock::time_point since;
  };
  // Under mu_: the entries idle for longer than max_idle_ at `now` (the oldest are first).
  std::deque<Entry> take_expired(Clock::time_point now);
  void remove(std::deque<Entry> entries);  // outside mu_: rmdir is slow

  const Remove remove_;
  const size_t capacity_;
  const Clock::duration max_idle_;
  mutable std::mutex mu_;
  std::deque<Entry> free_;  // oldest first
};

}  // namespace pyrunner::sandbox
