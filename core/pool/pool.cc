#include "core/pool/pool.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "core/executor/scheduling.h"
#include "core/sandbox/plan.h"

namespace pyrunner {
namespace {

constexpr auto kHealthCheckInterval = std::chrono::milliseconds(500);
constexpr auto kRestartBackoff = std::chrono::milliseconds(500);

// The plainer zygote that may start on this host where one in `mode` did not, or none.
std::optional<ZygoteMode> fallback_for(ZygoteMode mode, const ZygoteStartFailure& failure) {
  // An optional step broke: a plain zygote does without all of them.
  if (mode == ZygoteMode::kWarm && is_optional_zygote_step(failure.step)) return ZygoteMode::kPlain;
  // The interpreter itself crashed or hung (its preload, on this CPU): each run starts its own,
  // and only the runs that use what crashes fail.
  if (mode != ZygoteMode::kCold && failure.crashed) return ZygoteMode::kCold;
  return std::nullopt;
}

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace

WarmPool::WarmPool(const Config& config, sandbox::CgroupManager* cgroups, std::string config_path)
    : config_(config),
      cgroups_(cgroups),
      config_path_(std::move(config_path)),
      target_(config.pool.enabled ? config.pool.size : 0),
      fault_(env_or_empty("PYRUNNER_TEST_ZYGOTE_FAULT")),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      mode_(config.pool.enabled ? ZygoteMode::kWarm : ZygoteMode::kCold) {}

WarmPool::~WarmPool() { stop(); }

Status WarmPool::start() {
  // The manager thread must outlive every child: the zygote and the runs it clones (our
  // children through CLONE_PARENT) die with the thread that started the zygote
  // (PR_SET_PDEATHSIG follows the parent thread).
  manager_ = std::thread([this] { manage(); });
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return started_once_ || stopping_; });
  if (!zygote_) return Status::Error(last_error_);
  return Status::Ok();
}

void WarmPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !manager_.joinable()) return;
    stopping_ = true;
  }
  changed_.notify_all();
  wake();
  if (manager_.joinable()) manager_.join();
}

std::shared_ptr<Zygote> WarmPool::zygote() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return zygote_;
}

bool WarmPool::start_zygote() {
  while (true) {
    ZygoteMode mode;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      mode = mode_;
    }
    ZygoteStartFailure failure;
    // The zygote inherits this thread's policy through fork and exec. Its start-up (the
    // preload: seconds of CPU) must not starve behind other work on a busy host, where the
    // start-up timer would take it for hung: it starts with normal priority and puts itself
    // in the background once it is ready.
    to_foreground(0);
    auto started = Zygote::start(
        {config_path_, mode, sandbox::matplotlib_cache_dir(config_.sandbox), fault_}, &failure);
    to_background(0);
    std::lock_guard<std::mutex> lock(mutex_);
    if (started.ok()) {
      started_once_ = true;
      zygote_ = std::move(started.value());
      zygote_started_ = std::chrono::steady_clock::now();
      ++restarts_;
      spdlog::info("pool: zygote {} ready ({}, {} pre-forked children)", zygote_->pid(),
                   zygote_mode_name(mode_), target_);
      changed_.notify_all();
      return true;
    }
    last_error_ = started.status().message();
    const auto fallback = fallback_for(mode, failure);
    if (!fallback) {
      started_once_ = true;
      spdlog::error("pool: {}", last_error_);
      changed_.notify_all();
      return false;
    }
    mode_ = *fallback;
    fallback_ = last_error_;
    spdlog::error(
        "pool: {}. Falling back to a {} zygote ({}); runs still work, only slower. See "
        "README.md, troubleshooting",
        last_error_, zygote_mode_name(mode_),
        mode_ == ZygoteMode::kPlain ? "the preload without the warm-up and memory-layout steps"
                                    : "no preload: each run starts its own interpreter");
  }
}

void WarmPool::wake() const {
  uint64_t one = 1;
  (void)!write(wake_fd_.get(), &one, sizeof one);
}

void WarmPool::manage() {
  // Refilling is background work: this thread yields to the request threads (the policy is
  // per thread on Linux), as the zygote and the children it pre-forks do.
  to_background(0);
  struct Pending {
    std::unique_ptr<ReadyChild> child;
    std::chrono::steady_clock::time_point started;
  };
  std::vector<Pending> pending;  // spawned, still confining themselves
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) break;
    }
    auto z = zygote();
    if (!z || !z->alive()) {
      if (z) spdlog::warn("pool: zygote {} died; restarting", z->pid());
      pending.clear();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        zygote_.reset();
        ready_.clear();
      }
      if (!start_zygote()) {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait_for(lock, kRestartBackoff, [this] { return stopping_; });
        continue;
      }
      z = zygote();
    }
    int missing;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      std::erase_if(ready_, [](const auto& c) { return child_exited(*c); });
      missing = target_ - static_cast<int>(ready_.size()) - static_cast<int>(pending.size());
    }
    // Start every missing child at once, then wait for them together: their confinement
    // (mounts, cgroup attach) overlaps instead of adding up.
    for (; missing > 0; --missing) {
      auto child = start_child(*z, cgroups_);
      if (!child.ok()) {
        std::lock_guard<std::mutex> lock(mutex_);
        last_error_ = child.status().message();
        spdlog::error("pool: pre-fork failed: {}", last_error_);
        break;
      }
      pending.push_back({std::move(child.value()), std::chrono::steady_clock::now()});
    }

    std::vector<pollfd> fds = {{wake_fd_.get(), POLLIN, 0}};
    for (const auto& p : pending) fds.push_back({p.child->io.control.get(), POLLIN, 0});
    int timeout_ms = static_cast<int>(kHealthCheckInterval.count());
    if (poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) continue;
    if (fds[0].revents) {
      uint64_t count;
      (void)!read(wake_fd_.get(), &count, sizeof count);
    }
    const auto now = std::chrono::steady_clock::now();
    std::vector<Pending> still;
    for (size_t i = 0; i < pending.size(); ++i) {
      auto& p = pending[i];
      if (fds[i + 1].revents == 0) {
        if (now - p.started < std::chrono::milliseconds(kReadyTimeoutMs)) {
          still.push_back(std::move(p));
          continue;
        }
      }
      Status s = fds[i + 1].revents ? await_ready(*p.child, 1000)
                                    : Status::Error("sandbox: child not ready in time");
      // Most requests ask for the default memory limit: set it now rather than on their path.
      if (s.ok() && p.child->cgroup)
        s = p.child->cgroup->set_memory_limit(
            static_cast<unsigned long long>(config_.limits.default_memory_mb) << 20);
      std::lock_guard<std::mutex> lock(mutex_);
      if (s.ok()) {
        spdlog::debug("pool: child {} ready in {:.1f} ms", p.child->pid,
                      std::chrono::duration<double, std::milli>(now - p.started).count());
        ready_.push_back(std::move(p.child));
        changed_.notify_all();
      } else {
        last_error_ = s.message();
        spdlog::error("pool: pre-fork failed: {}", last_error_);
      }
    }
    pending = std::move(still);
  }
  pending.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  ready_.clear();
  zygote_.reset();
}

Result<std::unique_ptr<ReadyChild>> WarmPool::acquire(std::chrono::milliseconds wait) {
  std::shared_ptr<Zygote> z;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!ready_.empty()) {
      auto child = std::move(ready_.front());
      ready_.pop_front();
      wake();  // the manager refills
      if (!child_exited(*child)) return child;
    }
    // Nothing pre-forked (cold mode, or a burst drained the pool): spawn one now, once the
    // zygote is up.
    changed_.wait_for(lock, wait, [this] { return stopping_ || (zygote_ && zygote_->alive()); });
    if (stopping_) return Status::Error("pool: shutting down");
    z = zygote_;
  }
  if (!z) return Status::Error("pool: the zygote is restarting");
  return prepare_child(*z, cgroups_);
}

PoolStats WarmPool::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  PoolStats s;
  s.warm = config_.pool.enabled;
  s.mode = zygote_mode_name(mode_);
  s.fallback = fallback_;
  s.size = target_;
  s.ready = static_cast<int>(ready_.size());
  s.zygote_up = zygote_ && zygote_->alive();
  s.zygote_pid = zygote_ ? zygote_->pid() : -1;
  if (zygote_)
    s.zygote_uptime_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - zygote_started_).count();
  s.zygote_restarts = restarts_ < 0 ? 0 : restarts_;
  s.last_error = last_error_;
  return s;
}

}  // namespace pyrunner
