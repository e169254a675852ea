#pragma once
/// Bounded concurrency: at most `max_running` runs at once and at most `max_waiting` requests
/// waiting for a slot, each for at most `max_wait`. Beyond that a request is refused at once,
/// so load never turns into an unbounded queue of threads or memory.

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace pyrunner {

class Admission {
 public:
  enum class Verdict { kAdmitted, kQueueFull, kWaitedTooLong, kClosed };

  Admission(int max_running, int max_waiting, std::chrono::milliseconds max_wait)
      : max_running_(max_running), max_waiting_(max_waiting), max_wait_(max_wait) {}

  Verdict enter();
  void leave();
  /// Refuses every later enter() and wakes the waiters (shutdown).
  void close();
  int running() const;
  int waiting() const;

 private:
  const int max_running_;
  const int max_waiting_;
  const std::chrono::milliseconds max_wait_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  int running_ = 0;
  int waiting_ = 0;
  bool closed_ = false;
};

/// Leaves the admission when it goes out of scope.
class AdmissionSlot {
 public:
  explicit AdmissionSlot(Admission& admission) : admission_(admission) {}
  ~AdmissionSlot() { admission_.leave(); }
  AdmissionSlot(const AdmissionSlot&) = delete;
  AdmissionSlot& operator=(const AdmissionSlot&) = delete;

 private:
  Admission& admission_;
};

}  // namespace pyrunner
