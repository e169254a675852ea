#include "core/http/admission.h"

#include <algorithm>
#include <cmath>

namespace pyrunner {
namespace {

// Weight of the newest hold time in the moving average: recent enough to follow a change of
// workload within a few dozen runs, smooth enough that one slow run does not swing it.
constexpr double kPaceWeight = 0.1;

}  // namespace

Admission::Verdict Admission::enter(Clock::time_point arrived) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_) return Verdict::kClosed;
  if (running_ < max_running_ && line_.empty()) {
    ++running_;
    return Verdict::kAdmitted;
  }
  if (max_waiting_ >= 0 && static_cast<int>(line_.size()) >= max_waiting_)
    return Verdict::kQueueFull;
  Waiter me;
  auto place = line_.insert(line_.end(), &me);
  // leave() hands its slot over (running_ stays as it is) and takes us out of the line.
  const bool got =
      me.granted_cv.wait_until(lock, arrived + max_wait_, [&] { return me.granted || closed_; });
  if (me.granted) {
    if (!closed_) return Verdict::kAdmitted;
    --running_;  // granted as it closed: give the slot back
    return Verdict::kClosed;
  }
  line_.erase(place);
  return got ? Verdict::kClosed : Verdict::kWaitedTooLong;
}

void Admission::leave(double held_s) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (held_s >= 0)
    mean_hold_s_ =
        mean_hold_s_ == 0 ? held_s : (1 - kPaceWeight) * mean_hold_s_ + kPaceWeight * held_s;
  if (!line_.empty() && !closed_) {
    Waiter* next = line_.front();
    line_.pop_front();
    next->granted = true;
    next->granted_cv.notify_one();
    return;
  }
  --running_;
}

void Admission::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  for (Waiter* w : line_) w->granted_cv.notify_one();
}

int Admission::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_;
}

int Admission::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(line_.size());
}

int Admission::expected_wait_s() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return expected_wait_locked();
}

int Admission::expected_wait_locked() const {
  const double slots = std::max(max_running_, 1);
  const double wait = (static_cast<double>(line_.size()) + 1) * mean_hold_s_ / slots;
  return static_cast<int>(std::clamp(std::ceil(wait), 1.0, 3600.0));
}

}  // namespace pyrunner
