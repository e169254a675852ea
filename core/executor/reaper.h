#pragma once
/// Finishes runs off the request path. Once a run's result is known (its record is in and its
/// output closed) the server answers at once; killing what is left of the run, reaping it
/// (tearing down a forked interpreter's address space takes a few ms) and removing its cgroup
/// happen here, on one background thread.

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "core/executor/spawner.h"

namespace pyrunner {

class Reaper {
 public:
  Reaper();
  ~Reaper();  // finishes every queued child before returning
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  /// Kills (if still alive), reaps and removes the cgroup of `child`, asynchronously.
  void reap(std::unique_ptr<ReadyChild> child);

 private:
  void work();
  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<std::unique_ptr<ReadyChild>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pyrunner
