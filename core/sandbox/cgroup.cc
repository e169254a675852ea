#include "core/sandbox/cgroup.h"

#include <sys/random.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/sandbox/cgroup1.h"
#include "core/sandbox/cgroup2.h"
#include "core/sandbox/cgroup_files.h"
#include "core/util/fd.h"

namespace pyrunner::sandbox {

Status RunCgroup::attach(pid_t pid) {
  for (const auto& dir : state_.dirs) {
    if (auto s = write_value(dir + "/cgroup.procs", std::to_string(pid)); !s.ok()) return s;
  }
  return Status::Ok();
}

void RunCgroup::release(bool (*reset)(RecycledCgroup& state)) {
  if (state_.dirs.empty()) return;
  // Empty: the run's PID 1 has been reaped, and its namespace's other processes with it.
  bool empty = true;
  for (const auto& dir : state_.dirs) empty = empty && cgroup_empty(dir);
  if (recycler_ && empty && reset(state_)) {
    touch_dirs(state_.dirs);
    auto refused = recycler_->put(std::move(state_), CgroupRecycler::Clock::now());
    if (!refused) return;
    state_ = std::move(*refused);
  }
  remove_cgroup_dirs(std::move(state_.dirs), version_ == CgroupVersion::kV2);
}

Result<std::unique_ptr<CgroupManager>> CgroupManager::create(const SandboxConfig& config) {
  Result<std::unique_ptr<CgroupManager>> manager = Status::Error(
      "no cgroup v2 hierarchy with controllers and no cgroup v1 memory controller under "
      "/sys/fs/cgroup");
  if (cgroup2_available(config)) {
    manager = make_cgroup2_manager(config);
  } else if (cgroup1_available()) {
    manager = make_cgroup1_manager(config);
  }
  if (manager.ok()) manager.value()->remove_stale_runs();
  return manager;
}

CgroupManager::CgroupManager(CgroupVersion version, std::vector<std::string> parents,
                             const SandboxConfig& config)
    : version_(version), parents_(std::move(parents)), config_(config) {
  unsigned char bytes[6] = {};
  if (getrandom(bytes, sizeof bytes, 0) != sizeof bytes) {
    auto seed = std::chrono::steady_clock::now().time_since_epoch().count() ^ ::getpid();
    std::memcpy(bytes, &seed, sizeof bytes);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char b : bytes) {
    instance_ += kHex[b >> 4];
    instance_ += kHex[b & 15];
  }
}

void CgroupManager::remove_stale_runs() {
  // Run cgroups are named after a random instance id, not a pid: pyrunners in different PID
  // namespaces share the cgroup tree, and their pids collide. A run cgroup is stale when it is
  // empty (a dead pyrunner's runs died with it: PR_SET_PDEATHSIG) and old enough that no live
  // instance is between creating it and moving a child in. Nothing here kills anything.
  constexpr auto kStaleAge = std::chrono::minutes(1);
  const auto now = std::filesystem::file_time_type::clock::now();
  for (const auto& parent : parents_) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(parent, ec)) {
      const std::string path = entry.path();
      if (entry.path().filename().string().rfind("run-", 0) != 0) continue;
      if (!cgroup_empty(path)) continue;
      auto modified = std::filesystem::last_write_time(entry.path(), ec);
      if (ec || now - modified < kStaleAge) continue;
      ::rmdir(path.c_str());
    }
  }
}

Result<std::unique_ptr<RunCgroup>> CgroupManager::create_run() {
  if (recycler_) {
    if (auto reused = recycler_->take(CgroupRecycler::Clock::now()))
      return make_run(std::move(*reused), /*fresh=*/false);
  }
  const std::string name = "run-" + instance_ + "-" + std::to_string(++run_counter_);
  RecycledCgroup state;
  for (const auto& parent : parents_) {
    if (auto s = make_dir(parent + "/" + name); !s.ok()) {
      remove_cgroup_dirs(std::move(state.dirs), version_ == CgroupVersion::kV2);
      return s;
    }
    state.dirs.push_back(parent + "/" + name);
  }
  return make_run(std::move(state), /*fresh=*/true);
}

}  // namespace pyrunner::sandbox
