#include "core/http/run_service.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>

#include "core/access/keys.h"

namespace pyrunner {
namespace {

using Clock = std::chrono::steady_clock;

// How long a run waits for the zygote to come back before it is answered 503.
constexpr auto kAcquireWait = std::chrono::seconds(5);

}  // namespace

RunService::RunService(const Config& config, WarmPool& pool, Metrics& metrics)
    : config_(config),
      pool_(pool),
      metrics_(metrics),
      executor_(config, &reaper_),
      admission_(config.concurrent_runs(), config.server.max_queue,
                 std::chrono::seconds(config.server.queue_timeout)),
      abort_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

RunService::~RunService() {
  draining_ = true;  // the jobs still waiting get refused at once
  {
    std::lock_guard<std::mutex> lock(later_mutex_);
    later_stop_ = true;
  }
  later_ready_.notify_all();
  for (auto& t : later_threads_) t.join();
}

bool RunService::run_later(std::function<void()> job, size_t max_waiting) {
  std::lock_guard<std::mutex> lock(later_mutex_);
  if (later_stop_ || later_.size() >= max_waiting) return false;
  later_.push_back(std::move(job));
  if (later_threads_.empty()) {
    for (int i = 0; i < config_.concurrent_runs(); ++i) {
      later_threads_.emplace_back([this] {
        for (;;) {
          std::function<void()> next;
          {
            std::unique_lock<std::mutex> l(later_mutex_);
            later_ready_.wait(l, [this] { return later_stop_ || !later_.empty(); });
            if (later_.empty()) return;  // stopping, and nothing left
            next = std::move(later_.front());
            later_.pop_front();
          }
          next();
        }
      });
    }
  }
  later_ready_.notify_one();
  return true;
}

void RunService::abort_runs() {
  admission_.close();
  uint64_t one = 1;
  (void)!write(abort_fd_.get(), &one, sizeof one);
}

RunOutcome RunService::in_slot(RunWatch& watch,
                               const std::function<RunOutcome(const RunWatch&)>& work) {
  if (draining_) return RunOutcome(RunAbort::kShutdown, Status::Error("server is shutting down"));
  const auto arrived = watch.arrived == Clock::time_point{} ? Clock::now() : watch.arrived;
  // Counted from before the line: a key at its limit neither runs nor waits, so that its
  // runs cannot fill the slots, nor the line, ahead of other keys'.
  KeyRun key_run(watch.key);
  if (!key_run.ok()) {
    metrics_.key_rejected(watch.key->id(), "concurrent_runs");
    return RunOutcome(RunAbort::kOverLimit,
                      Status::Error("key " + watch.key->id() + ": at its limit of " +
                                    std::to_string(watch.key->limits().concurrent_runs) +
                                    " concurrent runs (concurrent_runs); retry when one ends"))
        .with_retry_after(watch.key->retry_after_run_s());
  }
  switch (admission_.enter(arrived)) {
    case Admission::Verdict::kAdmitted:
      break;
    case Admission::Verdict::kQueueFull:
      metrics_.rejected();
      return RunOutcome(RunAbort::kQueueFull,
                        Status::Error("server busy: every run slot is taken and the queue is full"))
          .with_retry_after(admission_.expected_wait_s());
    case Admission::Verdict::kWaitedTooLong:
      metrics_.rejected();
      return RunOutcome(RunAbort::kQueueTimeout,
                        Status::Error("server busy: no run slot freed up in time"))
          .with_retry_after(admission_.expected_wait_s());
    case Admission::Verdict::kClosed:
      return RunOutcome(RunAbort::kShutdown, Status::Error("server is shutting down"));
  }
  AdmissionSlot slot(admission_);
  const auto admitted = Clock::now();
  metrics_.queue_wait(std::chrono::duration<double>(admitted - arrived).count());
  if (watch.abort_fd < 0) watch.abort_fd = abort_fd_.get();
  metrics_.run_started();
  if (watch.key != nullptr) metrics_.key_run(watch.key->id());
  RunOutcome result = work(watch);
  metrics_.run_ended();
  if (result.ok()) {
    metrics_.run_finished(std::string(outcome_status(result->outcome)),
                          std::chrono::duration<double>(Clock::now() - admitted).count());
  }
  return result;
}

RunOutcome RunService::run(const RunRequest& request, RunWatch watch) {
  return in_slot(watch, [&](const RunWatch& w) {
    // A pooled child can die before it is given code (killed by the host, say); the request
    // then never reached it, so it is safe to take another one, once.
    RunOutcome result(RunAbort::kInternal, Status::Error("not run"));
    for (int attempt = 0; attempt < 2; ++attempt) {
      const auto asked = Clock::now();
      auto child = pool_.acquire(kAcquireWait);
      if (!child.ok()) {
        spdlog::error("sandbox unavailable: {}", child.status().message());
        return RunOutcome(RunAbort::kUnavailable,
                          Status::Error("sandbox unavailable: " + child.status().message()));
      }
      spdlog::debug("run: child acquired in {:.2f} ms",
                    std::chrono::duration<double, std::milli>(Clock::now() - asked).count());
      result = executor_.run(std::move(child.value()), request, w);
      if (result.ok() || result.abort() != RunAbort::kNotDelivered) break;
    }
    return result;
  });
}

RunWatch watch_of(const HttpRequest& req) {
  RunWatch watch;
  watch.client_fd = req.client_fd ? req.client_fd() : -1;
  watch.arrived = req.received_at;
  watch.key = req.key;
  return watch;
}

void reply_abort(const RunOutcome& outcome, HttpResponse& res) {
  const std::string& why = outcome.status().message();
  switch (outcome.abort()) {
    case RunAbort::kQueueFull:
    case RunAbort::kOverLimit:
      return res.error(429, why, std::max(outcome.retry_after(), 1));
    case RunAbort::kQueueTimeout:
    case RunAbort::kShutdown:
    case RunAbort::kUnavailable:
      return res.error(503, why, std::max(outcome.retry_after(), 1));
    case RunAbort::kClientGone:
      return res.error(499, why);  // never read
    case RunAbort::kNotDelivered:
    case RunAbort::kInternal:
      break;
  }
  spdlog::error("run failed: {}", why);
  res.error(500, "internal error: " + why);
}

}  // namespace pyrunner
