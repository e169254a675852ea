#include "core/sandbox/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "core/util/fd.h"

namespace pyrunner::sandbox {
namespace {

constexpr const char* kFs = "/sys/fs/cgroup";
constexpr const char* kV1Controllers[] = {"memory", "pids", "cpu"};

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Status make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    return Status::Sys("mkdir(\"" + path + "\")", errno);
  return Status::Ok();
}

// Docker and Kubernetes mount the container's own cgroup tree read-only even for a container
// given CAP_SYS_ADMIN and a private cgroup namespace. That tree is the container's alone, so
// pyrunner remounts it read-write rather than asking for --privileged.
Status make_dir_writable(const std::string& path, const std::string& mount_point) {
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return Status::Ok();
  if (errno != EROFS) return Status::Sys("mkdir(\"" + path + "\")", errno);
  if (::mount(nullptr, mount_point.c_str(), nullptr,
              MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    return Status::Sys("mkdir(\"" + path + "\") gave EROFS; mount(\"" + mount_point +
                           "\", MS_REMOUNT|MS_BIND, rw)",
                       errno);
  return make_dir(path);
}

Status write_value(const std::string& path, const std::string& value) {
  if (!write_file(path, value))
    return Status::Sys("write(\"" + path + "\", \"" + value + "\")", errno);
  return Status::Ok();
}

unsigned long long read_number(const std::string& path) {
  std::string text = read_small_file(path);
  return text.empty() ? 0 : std::strtoull(text.c_str(), nullptr, 10);
}

// Value of `key` in a flat-keyed file such as memory.events ("oom_kill 1").
unsigned long long read_key(const std::string& path, const std::string& key) {
  std::istringstream in(read_small_file(path));
  std::string k;
  unsigned long long v;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return 0;
}

void kill_procs(const std::string& procs_file) {
  std::istringstream in(read_small_file(procs_file));
  pid_t pid;
  while (in >> pid) ::kill(pid, SIGKILL);
}

// The cgroup v2 directory this process is in, from /proc/self/cgroup ("0::/path").
std::string own_v2_cgroup() {
  std::istringstream in(read_small_file("/proc/self/cgroup"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0)
      return std::string(kFs) + (line.size() > 3 ? line.substr(3) : "");
  }
  return kFs;
}

bool has_words(const std::string& text, std::initializer_list<const char*> words) {
  std::istringstream in(text);
  std::string w;
  size_t found = 0;
  while (in >> w) {
    for (const char* want : words) found += (w == want);
  }
  return found == words.size();
}

// Enables memory, pids and cpu for the children of `dir`. On v2 a cgroup with processes cannot
// also have controllers for its children, so if pyrunner itself sits in `dir` (a container's
// cgroup namespace root, a systemd delegated unit) it first moves into `dir/supervisor`.
Status enable_v2_controllers(const std::string& dir) {
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

}  // namespace

// Run cgroups that runs gave back, reset for the next (v1 only). Creating and removing a v1
// run cgroup is a mkdir and an rmdir in each of three hierarchies, each populating or clearing
// a dozen kernfs files: ~4 % of the CPU at 8 clients here.
class CgroupRecycler {
 public:
  struct Entry {
    std::vector<std::string> dirs;  // memory, pids, cpu
    unsigned long long memory_limit = 0;
    unsigned long long oom_kills = 0;
    unsigned long long memory_left = 0;
    std::chrono::steady_clock::time_point since;
  };

  ~CgroupRecycler() { remove(std::move(free_)); }

  // Takes back the empty cgroup of a finished run. False: the caller removes it.
  bool put(const std::vector<std::string>& dirs, unsigned long long memory_limit) {
    if (dirs.size() != 3) return false;
    // Empty: the run's PID 1 has been reaped, and its namespace's other processes with it.
    for (const auto& dir : dirs) {
      if (!read_small_file(dir + "/cgroup.procs").empty()) return false;
    }
    // The peak starts again from what the run left charged (kernel memory that is freed
    // lazily, page cache of files it read: 0 to ~0.4 MB here), which the next run's
    // memory_used does not count. (Reclaiming it with memory.force_empty drains every CPU's
    // page lists: it cost more than the mkdir and rmdir it saves.)
    if (!write_file(dirs[0] + "/memory.max_usage_in_bytes", "0")) return false;
    Entry entry{dirs, memory_limit, read_key(dirs[0] + "/memory.oom_control", "oom_kill"),
                read_number(dirs[0] + "/memory.usage_in_bytes"), std::chrono::steady_clock::now()};
    // Another pyrunner starting on this host removes empty run cgroups that look a minute old
    // (remove_stale_runs); this one is new again, and is not kept idle for that long.
    for (const auto& dir : dirs) ::utimensat(AT_FDCWD, dir.c_str(), nullptr, 0);
    std::deque<Entry> expired;
    {
      std::lock_guard<std::mutex> lock(mu_);
      expired = take_expired(entry.since);
      if (free_.size() >= kCapacity) return false;
      free_.push_back(std::move(entry));
    }
    remove(std::move(expired));
    return true;
  }

  // The cgroup given back first (each gets its turn), unless it has been idle too long.
  std::optional<Entry> take() {
    std::deque<Entry> expired;
    std::optional<Entry> found;
    {
      std::lock_guard<std::mutex> lock(mu_);
      expired = take_expired(std::chrono::steady_clock::now());
      if (!free_.empty()) {
        found = std::move(free_.front());
        free_.pop_front();
      }
    }
    remove(std::move(expired));
    return found;
  }

 private:
  // Under mu_: the entries idle for longer than kMaxIdle at `now` (the oldest are first).
  std::deque<Entry> take_expired(std::chrono::steady_clock::time_point now) {
    std::deque<Entry> expired;
    while (!free_.empty() && now - free_.front().since > kMaxIdle) {
      expired.push_back(std::move(free_.front()));
      free_.pop_front();
    }
    return expired;
  }

  // Removes the cgroups of `entries` (outside mu_: rmdir is slow).
  static void remove(std::deque<Entry> entries) {
    for (auto& e : entries) RunCgroup(CgroupVersion::kV1, std::move(e.dirs));
  }

  static constexpr size_t kCapacity = 16;  // more than a pool and its runs in flight give back
  static constexpr auto kMaxIdle = std::chrono::seconds(20);
  std::mutex mu_;
  std::deque<Entry> free_;  // oldest first
};

RunCgroup::~RunCgroup() {
  if (recycler_ && !dirs_.empty() && recycler_->put(dirs_, memory_limit_)) return;
  destroy();
}

std::string RunCgroup::file(const char* controller, const char* name) const {
  if (version_ == CgroupVersion::kV2) return dirs_[0] + "/" + name;
  for (size_t i = 0; i < dirs_.size(); ++i) {
    if (std::string(kV1Controllers[i]) == controller) return dirs_[i] + "/" + name;
  }
  return "";
}

Status RunCgroup::attach(pid_t pid) {
  for (const auto& dir : dirs_) {
    if (auto s = write_value(dir + "/cgroup.procs", std::to_string(pid)); !s.ok()) return s;
  }
  return Status::Ok();
}

Status RunCgroup::set_memory_limit(unsigned long long bytes) {
  if (bytes == memory_limit_) return Status::Ok();
  if (version_ == CgroupVersion::kV2) {
    // No swap: a run that exceeds its memory is stopped, not slowed to a crawl.
    write_file(file("memory", "memory.swap.max"), "0");
    if (auto s = write_value(file("memory", "memory.max"), std::to_string(bytes)); !s.ok())
      return s;
  } else {
    // memory+swap may never be below memory alone: raise it first, lower it last. (The file is
    // absent without swap accounting.)
    const std::string memsw = file("memory", "memory.memsw.limit_in_bytes");
    const bool raising = memory_limit_ != 0 && bytes > memory_limit_;
    if (raising) write_file(memsw, std::to_string(bytes));
    if (auto s = write_value(file("memory", "memory.limit_in_bytes"), std::to_string(bytes));
        !s.ok())
      return s;
    if (!raising) write_file(memsw, std::to_string(bytes));
    write_value(file("memory", "memory.max_usage_in_bytes"), "0");  // the peak starts now
  }
  memory_limit_ = bytes;
  return Status::Ok();
}

unsigned long long RunCgroup::peak_bytes() const {
  if (version_ == CgroupVersion::kV2) {
    auto peak = read_number(file("memory", "memory.peak"));  // Linux 5.19+
    return peak ? peak : read_number(file("memory", "memory.current"));
  }
  const auto peak = read_number(file("memory", "memory.max_usage_in_bytes"));
  return peak > memory_before_ ? peak - memory_before_ : 0;
}

bool RunCgroup::oom_killed() const {
  if (version_ == CgroupVersion::kV2)
    return read_key(file("memory", "memory.events"), "oom_kill") > 0;
  return read_key(file("memory", "memory.oom_control"), "oom_kill") > oom_kills_before_;
}

void RunCgroup::destroy() {
  // Usually the run's processes are gone by now (its PID 1 was reaped, and its PID namespace
  // with it), so rmdir succeeds at once: only a cgroup still in use is emptied first, and
  // processes take a moment to leave after SIGKILL (rmdir fails with EBUSY until they have).
  for (int attempt = 0; attempt < 500 && !dirs_.empty(); ++attempt) {
    for (auto it = dirs_.begin(); it != dirs_.end();) {
      if (::rmdir(it->c_str()) == 0 || errno == ENOENT) {
        it = dirs_.erase(it);
        continue;
      }
      if (version_ == CgroupVersion::kV2) write_file(*it + "/cgroup.kill", "1");  // Linux 5.14+
      kill_procs(*it + "/cgroup.procs");
      ++it;
    }
    if (!dirs_.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

Result<std::unique_ptr<CgroupManager>> CgroupManager::create(const SandboxConfig& config) {
  std::vector<std::string> parents;
  CgroupVersion version;
  const bool unified = exists(std::string(kFs) + "/cgroup.controllers");
  if (unified ||
      (config.cgroup_root != "auto" && exists(config.cgroup_root + "/cgroup.controllers"))) {
    version = CgroupVersion::kV2;
    std::string base = config.cgroup_root == "auto" ? own_v2_cgroup() : config.cgroup_root;
    if (base == std::string(kFs) + "/") base = kFs;
    if (!has_words(read_small_file(base + "/cgroup.controllers"), {"memory", "pids", "cpu"}))
      return Status::Error("cgroup v2 at " + base +
                           " does not offer the memory, pids and cpu controllers (delegate them to "
                           "pyrunner's cgroup)");
    const std::string parent = base + "/pyrunner";
    if (auto s = make_dir_writable(parent, kFs); !s.ok()) return s.within("cgroup v2");
    if (auto s = enable_v2_controllers(base); !s.ok()) return s.within("cgroup v2");
    if (auto s = enable_v2_controllers(parent); !s.ok()) return s.within("cgroup v2");
    parents.push_back(parent);
  } else if (exists(std::string(kFs) + "/memory/memory.limit_in_bytes")) {
    version = CgroupVersion::kV1;
    std::string base = config.cgroup_root == "auto" ? kFs : config.cgroup_root;
    for (const char* controller : kV1Controllers) {
      const std::string mount = base + "/" + controller;
      if (!exists(mount + "/cgroup.procs"))
        return Status::Error("cgroup v1: controller '" + std::string(controller) +
                             "' is not mounted at " + mount);
      const std::string parent = mount + "/pyrunner";
      if (auto s = make_dir_writable(parent, mount); !s.ok()) return s.within("cgroup v1");
      parents.push_back(parent);
    }
  } else {
    return Status::Error(
        "no cgroup v2 hierarchy with controllers and no cgroup v1 memory controller under "
        "/sys/fs/cgroup");
  }
  std::unique_ptr<CgroupManager> manager(new CgroupManager(version, std::move(parents), config));
  manager->remove_stale_runs();
  if (version == CgroupVersion::kV1) manager->recycler_ = std::make_shared<CgroupRecycler>();
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

std::string CgroupManager::describe() const {
  if (version_ == CgroupVersion::kV2) return "v2 (" + parents_[0] + ")";
  return "v1 (memory, pids, cpu under " + parents_[0].substr(0, parents_[0].rfind("/memory/")) +
         ")";
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
      if (!read_small_file(path + "/cgroup.procs").empty()) continue;
      auto modified = std::filesystem::last_write_time(entry.path(), ec);
      if (ec || now - modified < kStaleAge) continue;
      ::rmdir(path.c_str());
    }
  }
}

Result<std::unique_ptr<RunCgroup>> CgroupManager::create_run() {
  if (recycler_) {
    if (auto reused = recycler_->take()) {
      return std::make_unique<RunCgroup>(version_, std::move(reused->dirs), recycler_,
                                         reused->memory_limit, reused->oom_kills,
                                         reused->memory_left);
    }
  }
  const std::string name = "run-" + instance_ + "-" + std::to_string(++run_counter_);
  std::vector<std::string> dirs;
  for (const auto& parent : parents_) {
    dirs.push_back(parent + "/" + name);
    if (auto s = make_dir(dirs.back()); !s.ok()) {
      dirs.pop_back();
      RunCgroup cleanup(version_, dirs);
      return s;
    }
  }
  auto run = std::make_unique<RunCgroup>(version_, dirs, recycler_);
  const long period = 100000;
  const long quota = std::lround(config_.cpu_cores * period);
  const std::string pids = std::to_string(config_.pids_max);
  if (version_ == CgroupVersion::kV2) {
    if (auto s = write_value(dirs[0] + "/pids.max", pids); !s.ok()) return s;
    if (auto s =
            write_value(dirs[0] + "/cpu.max", std::to_string(quota) + " " + std::to_string(period));
        !s.ok())
      return s;
  } else {
    if (auto s = write_value(dirs[1] + "/pids.max", pids); !s.ok()) return s;
    // cpu.cfs_period_us of a new cgroup is already 100000 (100 ms): only the quota is set.
    if (auto s = write_value(dirs[2] + "/cpu.cfs_quota_us", std::to_string(quota)); !s.ok())
      return s;
  }
  return run;
}

}  // namespace pyrunner::sandbox
