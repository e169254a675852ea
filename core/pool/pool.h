#pragma once
/// The warm pool: a manager thread keeps the zygote alive (restarting it if it dies) and keeps
/// `pool.size` children pre-forked, confined and waiting for code, so neither the interpreter
/// start nor the fork is on the request path. With `pool.enabled: false` the zygote starts no
/// Python and every run is spawned on demand with a fresh interpreter (the cold baseline).
///
/// A zygote whose start-up breaks on this host does not take the server down with it when a
/// plainer one can serve: if an optional step (the warm-up or a memory-layout step, zygote.h)
/// crashes, hangs or fails, the pool restarts it without those steps (mode "plain"); if the
/// interpreter itself is killed by a signal or hangs, it falls back to cold runs (mode
/// "cold"). Each fallback is logged as an error and shown in GET / (PoolStats::fallback), and
/// later restarts keep the plainer mode.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/config/config.h"
#include "core/executor/spawner.h"
#include "core/pool/zygote.h"
#include "core/sandbox/cgroup.h"

namespace pyrunner {

struct PoolStats {
  bool warm = false;     // pool.enabled
  std::string mode;      // the zygote's: "warm", or after a fallback "plain" or "cold"
  std::string fallback;  // why the pool fell back to `mode` ("" if it did not)
  int size = 0;          // target number of pre-forked children
  int ready = 0;         // pre-forked children waiting now
  bool zygote_up = false;
  pid_t zygote_pid = -1;
  double zygote_uptime_s = 0;
  int zygote_restarts = 0;
  std::string last_error;
};

class WarmPool {
 public:
  WarmPool(const Config& config, sandbox::CgroupManager* cgroups, std::string config_path);
  ~WarmPool();

  /// Starts the manager thread and waits (up to the zygote's start-up time) for the first
  /// zygote. An error means the zygote cannot start at all (bad preload, no sandbox).
  Status start();
  /// A ready child: pre-forked if one is waiting, else spawned now. Fails if the zygote is down
  /// and does not come back within `wait` (the caller answers 503).
  Result<std::unique_ptr<ReadyChild>> acquire(std::chrono::milliseconds wait);
  /// Kills the waiting children and the zygote; joins the manager thread.
  void stop();
  PoolStats stats() const;

 private:
  void manage();
  void wake() const;  // interrupts the manager's wait
  std::shared_ptr<Zygote> zygote() const;
  bool start_zygote();

  const Config& config_;
  sandbox::CgroupManager* cgroups_;
  const std::string config_path_;
  const int target_;
  const std::string fault_;  // PYRUNNER_TEST_ZYGOTE_FAULT, for tests (ZygoteArgs::fault)
  const UniqueFd wake_fd_;   // eventfd: a child was taken, or stop()

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<ReadyChild>> ready_;
  std::shared_ptr<Zygote> zygote_;
  std::chrono::steady_clock::time_point zygote_started_;
  int restarts_ = -1;  // the first start is not a restart
  ZygoteMode mode_;
  std::string fallback_;
  bool started_once_ = false;
  bool stopping_ = false;
  std::string last_error_;
  std::thread manager_;
};

}  // namespace pyrunner
