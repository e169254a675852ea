#include "core/sandbox/cgroup1.h"

#include <cmath>

#include "core/sandbox/cgroup_files.h"
#include "core/util/fd.h"

namespace pyrunner::sandbox {
namespace {

// The controllers, in the order of a run cgroup's directories.
constexpr const char* kControllers[] = {"memory", "pids", "cpu"};
enum Dir { kMemory = 0, kPids = 1, kCpu = 2 };

class RunCgroup1 : public RunCgroup {
 public:
  RunCgroup1(RecycledCgroup state, std::shared_ptr<CgroupRecycler> recycler)
      : RunCgroup(CgroupVersion::kV1, std::move(state), std::move(recycler)) {}
  ~RunCgroup1() override { release(&reset_for_next_run); }

  Status set_memory_limit(unsigned long long bytes) override {
    if (bytes == state_.memory_limit) return Status::Ok();
    // memory+swap may never be below memory alone: raise it first, lower it last. (The file is
    // absent without swap accounting.)
    const std::string memsw = memory("memory.memsw.limit_in_bytes");
    const bool raising = state_.memory_limit != 0 && bytes > state_.memory_limit;
    if (raising) write_file(memsw, std::to_string(bytes));
    if (auto s = write_value(memory("memory.limit_in_bytes"), std::to_string(bytes)); !s.ok())
      return s;
    if (!raising) write_file(memsw, std::to_string(bytes));
    write_value(memory("memory.max_usage_in_bytes"), "0");  // the peak starts now
    state_.memory_limit = bytes;
    return Status::Ok();
  }

  unsigned long long peak_bytes() const override {
    const auto peak = read_number(memory("memory.max_usage_in_bytes"));
    return peak > state_.memory_left ? peak - state_.memory_left : 0;
  }

  unsigned long long current_bytes() const override {
    const auto now = read_number(memory("memory.usage_in_bytes"));
    return now > state_.memory_left ? now - state_.memory_left : 0;
  }

  bool oom_killed() const override {
    return read_key(memory("memory.oom_control"), "oom_kill") > state_.oom_kills;
  }

 private:
  std::string memory(const char* file) const { return state_.dirs[kMemory] + "/" + file; }

  // The peak starts again from what the run left charged (kernel memory that is freed lazily,
  // page cache of files it read: 0 to ~0.4 MB here), which the next run's memory_used does not
  // count; so does the OOM kill count. (Reclaiming that memory with memory.force_empty drains
  // every CPU's page lists: it cost more than the mkdir and rmdir it saves.)
  static bool reset_for_next_run(RecycledCgroup& state) {
    if (state.dirs.size() != 3) return false;
    const std::string& dir = state.dirs[kMemory];
    if (!write_file(dir + "/memory.max_usage_in_bytes", "0")) return false;
    state.oom_kills = read_key(dir + "/memory.oom_control", "oom_kill");
    state.memory_left = read_number(dir + "/memory.usage_in_bytes");
    return true;
  }
};

class CgroupManager1 : public CgroupManager {
 public:
  CgroupManager1(std::string base, std::vector<std::string> parents, const SandboxConfig& config)
      : CgroupManager(CgroupVersion::kV1, std::move(parents), config), base_(std::move(base)) {
    recycler_ = std::make_shared<CgroupRecycler>(
        [](RecycledCgroup cgroup) { remove_cgroup_dirs(std::move(cgroup.dirs), false); });
  }

  std::string describe() const override { return "v1 (memory, pids, cpu under " + base_ + ")"; }

 protected:
  Result<std::unique_ptr<RunCgroup>> make_run(RecycledCgroup state, bool fresh) override {
    if (fresh) {
      // cpu.cfs_period_us of a new cgroup is already 100000 (100 ms): only the quota is set.
      const long quota = std::lround(config_.cpu_cores * 100000);
      Status s = write_value(state.dirs[kPids] + "/pids.max", std::to_string(config_.pids_max));
      if (s.ok()) s = write_value(state.dirs[kCpu] + "/cpu.cfs_quota_us", std::to_string(quota));
      if (!s.ok()) {
        remove_cgroup_dirs(std::move(state.dirs), false);
        return s;
      }
    }
    return std::unique_ptr<RunCgroup>(new RunCgroup1(std::move(state), recycler_));
  }

 private:
  std::string base_;
};

}  // namespace

bool cgroup1_available() {
  return path_exists(std::string(kCgroupFs) + "/memory/memory.limit_in_bytes");
}

Result<std::unique_ptr<CgroupManager>> make_cgroup1_manager(const SandboxConfig& config) {
  const std::string base = config.cgroup_root == "auto" ? kCgroupFs : config.cgroup_root;
  std::vector<std::string> parents;
  for (const char* controller : kControllers) {
    const std::string mount = base + "/" + controller;
    if (!path_exists(mount + "/cgroup.procs"))
      return Status::Error("cgroup v1: controller '" + std::string(controller) +
                           "' is not mounted at " + mount);
    const std::string parent = mount + "/pyrunner";
    if (auto s = make_dir_writable(parent, mount); !s.ok()) return s.within("cgroup v1");
    parents.push_back(parent);
  }
  return std::unique_ptr<CgroupManager>(new CgroupManager1(base, std::move(parents), config));
}

}  // namespace pyrunner::sandbox
