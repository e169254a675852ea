// Run cgroups on this host's real hierarchy, whichever version it has: `make test` checks v1
// (the development machines), `make test-cgroup2` the same tests on a cgroup-v2-only VM. Each
// test forks children of its own, joins them to a run cgroup and checks what the kernel did.

#include "core/sandbox/cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "core/util/fd.h"

namespace {

using pyrunner::read_small_file;
using pyrunner::sandbox::CgroupManager;
using pyrunner::sandbox::CgroupVersion;
using pyrunner::sandbox::RunCgroup;

constexpr unsigned long long kMiB = 1 << 20;

bool host_is_v2() {
  struct stat st;
  return stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0;
}

// The manager keeps a reference to `config`: it must outlive it.
std::unique_ptr<CgroupManager> manager(const pyrunner::SandboxConfig& config) {
  auto m = CgroupManager::create(config);
  INFO(m.status().message());
  REQUIRE(m.ok());
  return std::move(m.value());
}

pyrunner::SandboxConfig limits(int pids_max = 64, double cpu_cores = 1.0) {
  pyrunner::SandboxConfig c;
  c.pids_max = pids_max;
  c.cpu_cores = cpu_cores;
  return c;
}

// What one child does once it has been joined to its cgroup. It runs in a fork of this
// multi-threaded test process, so it makes syscalls only (mmap, memset, fork), no allocation.
enum class Action { kTouch, kReserve, kForkUntilRefused, kWait };

int act(Action action, long arg, int go_fd) {
  switch (action) {
    case Action::kTouch:
    case Action::kReserve: {
      void* p = mmap(nullptr, arg * kMiB, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED) return 2;
      if (action == Action::kTouch) memset(p, 1, arg * kMiB);
      return 0;
    }
    case Action::kForkUntilRefused: {
      // Forks until the kernel refuses (each child waits for EOF on the go pipe, forever: the
      // cgroup's removal kills them); the exit code is how many it got, +100 for EAGAIN.
      int forked = 0;
      while (forked < arg) {
        pid_t pid = fork();
        if (pid == 0) {
          char c;
          while (read(go_fd, &c, 1) != 0) pause();
          _exit(0);
        }
        if (pid < 0) return forked + (errno == EAGAIN ? 100 : 0);
        ++forked;
      }
      return forked;
    }
    case Action::kWait: {
      char c;
      while (read(go_fd, &c, 1) != 0) pause();
      return 0;
    }
  }
  return 3;
}

class Child {
 public:
  Child(Action action, long arg) {
    REQUIRE(pipe2(go_, O_CLOEXEC) == 0);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      char c;
      if (read(go_[0], &c, 1) != 1) _exit(99);
      _exit(act(action, arg, go_[0]));
    }
    close(go_[0]);
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (go_[1] >= 0) close(go_[1]);
  }
  pid_t pid() const { return pid_; }
  void go() { REQUIRE(write(go_[1], "g", 1) == 1); }
  // The exit code, or minus the signal that killed it.
  int wait() {
    int status = 0;
    REQUIRE(waitpid(pid_, &status, 0) == pid_);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

 private:
  int go_[2] = {-1, -1};
  pid_t pid_ = -1;
};

// The directory of `pid`'s cgroup that holds the memory controller's files.
std::string memory_cgroup_of(pid_t pid) {
  std::istringstream in(read_small_file("/proc/" + std::to_string(pid) + "/cgroup"));
  std::string line;
  while (std::getline(in, line)) {
    if (host_is_v2() && line.rfind("0::", 0) == 0) return "/sys/fs/cgroup" + line.substr(3);
    const auto memory = line.find(":memory:");
    if (!host_is_v2() && memory != std::string::npos)
      return "/sys/fs/cgroup/memory" + line.substr(memory + 8);
  }
  return "";
}

std::string sibling(const std::string& memory_dir, const char* controller) {
  if (host_is_v2()) return memory_dir;
  return "/sys/fs/cgroup/" + std::string(controller) +
         memory_dir.substr(std::string("/sys/fs/cgroup/memory").size());
}

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Runs `action` in a new child joined to `run`; returns how it ended.
int run_in(RunCgroup& run, Action action, long arg, std::string* dir = nullptr) {
  Child child(action, arg);
  REQUIRE(run.attach(child.pid()).ok());
  if (dir) *dir = memory_cgroup_of(child.pid());
  child.go();
  return child.wait();
}

}  // namespace

TEST_CASE("the cgroup manager uses this host's cgroup version", "[cgroup]") {
  const auto config = limits();
  auto m = manager(config);
  const bool v2 = host_is_v2();
  CHECK(m->version() == (v2 ? CgroupVersion::kV2 : CgroupVersion::kV1));
  CHECK(m->describe().rfind(v2 ? "v2 (/sys/fs/cgroup" : "v1 (memory, pids, cpu under ", 0) == 0);
}

TEST_CASE("run cgroups are reused on v1 and on v2 from Linux 6.12", "[cgroup]") {
  const auto config = limits();
  auto m = manager(config);
  utsname u;
  REQUIRE(uname(&u) == 0);
  int major = 0, minor = 0;
  REQUIRE(std::sscanf(u.release, "%d.%d", &major, &minor) == 2);
  const bool resettable_peak = major > 6 || (major == 6 && minor >= 12);
  INFO("kernel " << u.release << ", " << m->describe());
  CHECK(m->reuses_run_cgroups() == (!host_is_v2() || resettable_peak));
  if (host_is_v2())
    CHECK((m->describe().find("run cgroups reused") != std::string::npos) == resettable_peak);
}

TEST_CASE("a run cgroup has the configured pids and CPU and memory limits", "[cgroup]") {
  const auto config = limits(/*pids_max=*/12, /*cpu_cores=*/0.5);
  auto m = manager(config);
  auto run = m->create_run();
  REQUIRE(run.ok());
  REQUIRE(run.value()->set_memory_limit(96 * kMiB).ok());
  Child child(Action::kWait, 0);
  REQUIRE(run.value()->attach(child.pid()).ok());
  const std::string dir = memory_cgroup_of(child.pid());
  INFO(dir);
  REQUIRE(dir.find("/pyrunner/run-") != std::string::npos);
  CHECK(read_small_file(sibling(dir, "pids") + "/pids.max") == "12\n");
  if (host_is_v2()) {
    CHECK(read_small_file(dir + "/cpu.max") == "50000 100000\n");
    CHECK(read_small_file(dir + "/memory.max") == std::to_string(96 * kMiB) + "\n");
    if (exists(dir + "/memory.swap.max")) CHECK(read_small_file(dir + "/memory.swap.max") == "0\n");
  } else {
    CHECK(read_small_file(sibling(dir, "cpu") + "/cpu.cfs_quota_us") == "50000\n");
    CHECK(read_small_file(sibling(dir, "cpu") + "/cpu.cfs_period_us") == "100000\n");
    CHECK(read_small_file(dir + "/memory.limit_in_bytes") == std::to_string(96 * kMiB) + "\n");
  }
}

TEST_CASE("peak_bytes is what the run touched and the OOM killer is told apart", "[cgroup]") {
  const auto config = limits();
  auto m = manager(config);
  SECTION("touched memory counts") {
    auto run = m->create_run();
    REQUIRE(run.ok());
    REQUIRE(run.value()->set_memory_limit(256 * kMiB).ok());
    CHECK(run_in(*run.value(), Action::kTouch, 40) == 0);
    const auto peak = run.value()->peak_bytes();
    CHECK(peak >= 40 * kMiB);
    CHECK(peak < 60 * kMiB);
    CHECK_FALSE(run.value()->oom_killed());
  }
  SECTION("reserved but untouched memory does not") {
    auto run = m->create_run();
    REQUIRE(run.ok());
    REQUIRE(run.value()->set_memory_limit(256 * kMiB).ok());
    CHECK(run_in(*run.value(), Action::kReserve, 1024) == 0);
    CHECK(run.value()->peak_bytes() < 10 * kMiB);
    CHECK_FALSE(run.value()->oom_killed());
  }
  SECTION("touching past the limit is an OOM kill") {
    auto run = m->create_run();
    REQUIRE(run.ok());
    REQUIRE(run.value()->set_memory_limit(32 * kMiB).ok());
    CHECK(run_in(*run.value(), Action::kTouch, 64) == -SIGKILL);
    CHECK(run.value()->oom_killed());
    CHECK(run.value()->peak_bytes() <= 32 * kMiB);
  }
}

TEST_CASE("pids.max holds a fork bomb to the configured number of tasks", "[cgroup]") {
  const auto config = limits(/*pids_max=*/8);
  auto m = manager(config);
  auto run = m->create_run();
  REQUIRE(run.ok());
  std::string dir;
  // The child itself is one of the 8; the 8th fork is refused with EAGAIN.
  CHECK(run_in(*run.value(), Action::kForkUntilRefused, 50, &dir) == 100 + 7);
  // Its 7 children are still there, waiting; removing the cgroup kills them.
  CHECK(read_small_file(sibling(dir, "pids") + "/pids.current") == "7\n");
  run.value().reset();
  CHECK_FALSE(exists(dir));
  CHECK_FALSE(exists(sibling(dir, "pids")));
}

TEST_CASE("a finished run's cgroup is reused where it can be reset and removed elsewhere",
          "[cgroup]") {
  const auto config = limits();
  auto m = manager(config);
  const bool reusable = m->reuses_run_cgroups();
  std::string first_dir;
  {
    auto first = m->create_run();
    REQUIRE(first.ok());
    REQUIRE(first.value()->set_memory_limit(32 * kMiB).ok());
    CHECK(run_in(*first.value(), Action::kTouch, 64, &first_dir) == -SIGKILL);
    CHECK(first.value()->oom_killed());
  }
  INFO(first_dir);
  CHECK(exists(first_dir) == reusable);
  auto second = m->create_run();
  REQUIRE(second.ok());
  REQUIRE(second.value()->set_memory_limit(256 * kMiB).ok());
  std::string second_dir;
  CHECK(run_in(*second.value(), Action::kTouch, 4, &second_dir) == 0);
  CHECK((second_dir == first_dir) == reusable);
  // Only its own run: neither the first run's OOM kill nor its peak.
  CHECK_FALSE(second.value()->oom_killed());
  // Its own 4 MiB, give or take the few pages of them charged before it joined the cgroup
  // (seen: 4161536 bytes on a busy host).
  CHECK(second.value()->peak_bytes() >= 3 * kMiB);
  CHECK(second.value()->peak_bytes() < 16 * kMiB);
}

TEST_CASE("no run cgroup outlives its manager not even one still holding a process", "[cgroup]") {
  std::string idle_dir, busy_dir;
  Child busy(Action::kWait, 0);
  {
    const auto config = limits();
    auto m = manager(config);
    auto idle = m->create_run();
    REQUIRE(idle.ok());
    auto held = m->create_run();
    REQUIRE(held.ok());
    CHECK(run_in(*idle.value(), Action::kTouch, 1, &idle_dir) == 0);
    REQUIRE(held.value()->attach(busy.pid()).ok());
    busy_dir = memory_cgroup_of(busy.pid());
    REQUIRE(busy_dir != idle_dir);
    idle.value().reset();  // finished and empty: kept for reuse (v1) or removed now
  }  // `held` still holds `busy`: killed and removed; the manager's kept cgroups removed
  CHECK(busy.wait() == -SIGKILL);
  CHECK_FALSE(exists(idle_dir));
  CHECK_FALSE(exists(busy_dir));
  CHECK_FALSE(exists(sibling(busy_dir, "pids")));
  CHECK_FALSE(exists(sibling(busy_dir, "cpu")));
}
