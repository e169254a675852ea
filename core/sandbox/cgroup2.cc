#include "core/sandbox/cgroup2.h"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "core/sandbox/cgroup_files.h"
#include "core/util/fd.h"

namespace pyrunner::sandbox {
namespace {

// The cgroup v2 directory this process is in, from /proc/self/cgroup ("0::/path").
std::string own_cgroup() {
  std::istringstream in(read_small_file("/proc/self/cgroup"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0)
      return std::string(kCgroupFs) + (line.size() > 3 ? line.substr(3) : "");
  }
  return kCgroupFs;
}

// Enables memory, pids and cpu for the children of `dir`. On v2 a cgroup with processes cannot
// also have controllers for its children, so if pyrunner itself sits in `dir` (a container's
// cgroup namespace root, a systemd delegated unit) it first moves into `dir/supervisor`.
Status enable_controllers(const std::string& dir) {
  const std::string control = dir + "/cgroup.subtree_control";
  if (write_file(control, "+memory +pids +cpu")) return Status::Ok();
  if (errno != EBUSY)
    return Status::Sys("write(\"" + control + "\", \"+memory +pids +cpu\")", errno);
  const std::string supervisor = dir + "/supervisor";
  if (auto s = make_dir(supervisor); !s.ok()) return s;
  std::istringstream in(read_small_file(dir + "/cgroup.procs"));
  pid_t pid;
  while (in >> pid) write_file(supervisor + "/cgroup.procs", std::to_string(pid));
  return write_value(control, "+memory +pids +cpu");
}

// memory.peak opened for reading and resetting. Linux 6.12 made it writable: a write resets
// the peak to the current usage, for later reads through the same open file only.
UniqueFd open_peak(const std::string& dir) {
  return UniqueFd(::open((dir + "/memory.peak").c_str(), O_RDWR | O_CLOEXEC));
}

// Whether this kernel can reset memory.peak. Before 6.12 the file opens for writing all the
// same (every cgroup file does, for root), but the write fails with EINVAL.
bool peak_resettable(const std::string& dir) {
  UniqueFd peak = open_peak(dir);
  return peak.valid() && ::write(peak.get(), "reset", 5) == 5;
}

unsigned long long read_fd_number(int fd) {
  char buf[32];
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  buf[n] = '\0';
  return std::strtoull(buf, nullptr, 10);
}

class RunCgroup2 : public RunCgroup {
 public:
  RunCgroup2(RecycledCgroup state, std::shared_ptr<CgroupRecycler> recycler)
      : RunCgroup(CgroupVersion::kV2, std::move(state), std::move(recycler)) {}
  ~RunCgroup2() override { release(&reset_for_next_run); }

  Status set_memory_limit(unsigned long long bytes) override {
    if (bytes == state_.memory_limit) return Status::Ok();
    // No swap: a run that exceeds its memory is stopped, not slowed to a crawl.
    write_file(file("memory.swap.max"), "0");
    if (auto s = write_value(file("memory.max"), std::to_string(bytes)); !s.ok()) return s;
    state_.memory_limit = bytes;
    return Status::Ok();
  }

  unsigned long long peak_bytes() const override {
    // Through the open file, the peak since it was last reset (a reused cgroup); by path, since
    // the cgroup was created (Linux 5.19+; memory.current before that).
    if (state_.peak.valid()) {
      const auto peak = read_fd_number(state_.peak.get());
      return peak > state_.memory_left ? peak - state_.memory_left : 0;
    }
    auto peak = read_number(file("memory.peak"));
    return peak ? peak : read_number(file("memory.current"));
  }

  unsigned long long current_bytes() const override {
    const auto now = read_number(file("memory.current"));
    return now > state_.memory_left ? now - state_.memory_left : 0;
  }

  bool oom_killed() const override {
    return read_key(file("memory.events"), "oom_kill") > state_.oom_kills;
  }

 private:
  std::string file(const char* name) const { return state_.dirs[0] + "/" + name; }

  // As on v1: the peak starts again from what the run left charged (lazily freed kernel
  // memory, page cache), which the next run's memory_used does not count; so does the OOM
  // kill count.
  static bool reset_for_next_run(RecycledCgroup& state) {
    if (state.dirs.size() != 1 || !state.peak.valid()) return false;
    if (::pwrite(state.peak.get(), "reset", 5, 0) != 5) return false;
    state.oom_kills = read_key(state.dirs[0] + "/memory.events", "oom_kill");
    state.memory_left = read_number(state.dirs[0] + "/memory.current");
    return true;
  }
};

class CgroupManager2 : public CgroupManager {
 public:
  CgroupManager2(std::string parent, const SandboxConfig& config)
      : CgroupManager(CgroupVersion::kV2, {std::move(parent)}, config) {
    // A kernel that can reset memory.peak (6.12+) lets a finished run's cgroup serve the next:
    // one open and one write instead of a mkdir and an rmdir, each populating or clearing
    // some 40 kernfs files of the memory, pids and cpu controllers.
    if (peak_resettable(parents_[0])) {
      recycler_ = std::make_shared<CgroupRecycler>(
          [](RecycledCgroup cgroup) { remove_cgroup_dirs(std::move(cgroup.dirs), true); });
    }
  }

  std::string describe() const override {
    return "v2 (" + parents_[0] + (recycler_ ? ", run cgroups reused" : "") + ")";
  }

 protected:
  Result<std::unique_ptr<RunCgroup>> make_run(RecycledCgroup state, bool fresh) override {
    if (fresh) {
      const long period = 100000;
      const long quota = std::lround(config_.cpu_cores * period);
      const std::string& dir = state.dirs[0];
      Status s = write_value(dir + "/pids.max", std::to_string(config_.pids_max));
      if (s.ok())
        s = write_value(dir + "/cpu.max", std::to_string(quota) + " " + std::to_string(period));
      if (!s.ok()) {
        remove_cgroup_dirs(std::move(state.dirs), true);
        return s;
      }
      if (recycler_) state.peak = open_peak(dir);
    }
    return std::unique_ptr<RunCgroup>(new RunCgroup2(std::move(state), recycler_));
  }
};

}  // namespace

bool cgroup2_available(const SandboxConfig& config) {
  return path_exists(std::string(kCgroupFs) + "/cgroup.controllers") ||
         (config.cgroup_root != "auto" && path_exists(config.cgroup_root + "/cgroup.controllers"));
}

Result<std::unique_ptr<CgroupManager>> make_cgroup2_manager(const SandboxConfig& config) {
  std::string base = config.cgroup_root == "auto" ? own_cgroup() : config.cgroup_root;
  if (base == std::string(kCgroupFs) + "/") base = kCgroupFs;
  if (!has_words(read_small_file(base + "/cgroup.controllers"), {"memory", "pids", "cpu"}))
    return Status::Error("cgroup v2 at " + base +
                         " does not offer the memory, pids and cpu controllers (delegate them to "
                         "pyrunner's cgroup)");
  const std::string parent = base + "/pyrunner";
  if (auto s = make_dir_writable(parent, kCgroupFs); !s.ok()) return s.within("cgroup v2");
  if (auto s = enable_controllers(base); !s.ok()) return s.within("cgroup v2");
  if (auto s = enable_controllers(parent); !s.ok()) return s.within("cgroup v2");
  return std::unique_ptr<CgroupManager>(new CgroupManager2(parent, config));
}

}  // namespace pyrunner::sandbox
