#pragma once
/// Bounded concurrency: at most `max_running` runs at once; the others wait in arrival order,
/// each until `max_wait` after it arrived. The wait budget is what bounds the line: a burst of
/// a few hundred requests that the slots work through within `max_wait` is served, not shed
/// at some fixed length; a request still waiting when its budget is spent is refused (503),
/// with a Retry-After from the recent pace of the slots. `max_waiting` >= 0 also caps the line
/// (0: nobody waits), beyond which a request is refused at once (429).
///
/// A waiting request holds its worker thread (the reception's, up to server.threads), not a
/// connection's: idle and slow connections are the reception's, threadless. A slot that
/// frees up goes to the longest waiter, so that the earliest arrivals are not the ones whose
/// budget runs out.

#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>

namespace pyrunner {

class Admission {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Verdict { kAdmitted, kQueueFull, kWaitedTooLong, kClosed };

  /// `max_waiting` < 0: no cap but the wait budget.
  Admission(int max_running, int max_waiting, std::chrono::milliseconds max_wait)
      : max_running_(max_running), max_waiting_(max_waiting), max_wait_(max_wait) {}

  /// Takes a slot, waiting for one until `arrived + max_wait` (`arrived`: when the request
  /// came in, so that time spent before asking counts).
  Verdict enter(Clock::time_point arrived = Clock::now());
  /// Gives the slot back (to the longest waiter, if any); `held_s`: how long it was held, for
  /// the pace Retry-After is estimated from (< 0: unknown).
  void leave(double held_s = -1);
  /// Refuses every later enter() and wakes the waiters (shutdown).
  void close();
  int running() const;
  int waiting() const;
  /// Seconds until a request arriving now would likely get a slot: the line ahead of it
  /// times the slots' recent mean hold time, over the slots; at least 1.
  int expected_wait_s() const;

 private:
  struct Waiter {
    std::condition_variable granted_cv;
    bool granted = false;
  };
  int expected_wait_locked() const;

  const int max_running_;
  const int max_waiting_;
  const std::chrono::milliseconds max_wait_;
  mutable std::mutex mutex_;
  std::list<Waiter*> line_;  // in arrival order
  int running_ = 0;
  bool closed_ = false;
  double mean_hold_s_ = 0;  // moving average of hold times
};

/// Leaves the admission when it goes out of scope, telling it how long the slot was held.
class AdmissionSlot {
 public:
  explicit AdmissionSlot(Admission& admission)
      : admission_(admission), since_(Admission::Clock::now()) {}
  ~AdmissionSlot() {
    admission_.leave(std::chrono::duration<double>(Admission::Clock::now() - since_).count());
  }
  AdmissionSlot(const AdmissionSlot&) = delete;
  AdmissionSlot& operator=(const AdmissionSlot&) = delete;

 private:
  Admission& admission_;
  const Admission::Clock::time_point since_;
};

}  // namespace pyrunner
