#include "core/executor/reaper.h"

#include <unistd.h>

#include "core/executor/scheduling.h"

namespace pyrunner {

Reaper::Reaper() : thread_([this] { work(); }) {}

Reaper::~Reaper() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  thread_.join();
}

void Reaper::reap(std::unique_ptr<ReadyChild> child) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(child));
  }
  queued_.notify_one();
}

void Reaper::work() {
  to_background(0);  // off the request path
  for (;;) {
    std::unique_ptr<ReadyChild> child;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      child = std::move(queue_.front());
      queue_.pop_front();
    }
    child.reset();  // ~ReadyChild: SIGKILL, waitid, cgroup removal
  }
}

}  // namespace pyrunner
