#include "core/sandbox/cgroup_recycler.h"

namespace pyrunner::sandbox {

CgroupRecycler::~CgroupRecycler() { remove(std::move(free_)); }

std::optional<RecycledCgroup> CgroupRecycler::put(RecycledCgroup cgroup, Clock::time_point now) {
  std::deque<Entry> expired;
  std::optional<RecycledCgroup> refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    expired = take_expired(now);
    if (free_.size() >= capacity_) {
      refused = std::move(cgroup);
    } else {
      free_.push_back({std::move(cgroup), now});
    }
  }
  remove(std::move(expired));
  return refused;
}

std::optional<RecycledCgroup> CgroupRecycler::take(Clock::time_point now) {
  std::deque<Entry> expired;
  std::optional<RecycledCgroup> found;
  {
    std::lock_guard<std::mutex> lock(mu_);
    expired = take_expired(now);
    if (!free_.empty()) {
      found = std::move(free_.front().cgroup);
      free_.pop_front();
    }
  }
  remove(std::move(expired));
  return found;
}

size_t CgroupRecycler::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return free_.size();
}

std::deque<CgroupRecycler::Entry> CgroupRecycler::take_expired(Clock::time_point now) {
  std::deque<Entry> expired;
  while (!free_.empty() && now - free_.front().since > max_idle_) {
    expired.push_back(std::move(free_.front()));
    free_.pop_front();
  }
  return expired;
}

void CgroupRecycler::remove(std::deque<Entry> entries) {
  for (auto& e : entries) remove_(std::move(e.cgroup));
}

}  // namespace pyrunner::sandbox
