#include "core/http/admission.h"

namespace pyrunner {

Admission::Verdict Admission::enter() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_) return Verdict::kClosed;
  if (running_ < max_running_) {
    ++running_;
    return Verdict::kAdmitted;
  }
  if (waiting_ >= max_waiting_) return Verdict::kQueueFull;
  ++waiting_;
  bool got =
      freed_.wait_for(lock, max_wait_, [this] { return closed_ || running_ < max_running_; });
  --waiting_;
  if (closed_) return Verdict::kClosed;
  if (!got) return Verdict::kWaitedTooLong;
  ++running_;
  return Verdict::kAdmitted;
}

void Admission::leave() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --running_;
  }
  freed_.notify_one();
}

void Admission::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  freed_.notify_all();
}

int Admission::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_;
}

int Admission::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiting_;
}

}  // namespace pyrunner
