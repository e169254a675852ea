// build_plan: what the parent prepares for a child's confinement, from the config and the
// host. The plan is data, so it is checked directly; that the child applies it is the
// corpus's business (tests/security).

#include "core/sandbox/plan.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>

#include "support/harness.h"

namespace {

using pyrunner::Config;
using pyrunner::sandbox::BindMount;
using pyrunner::sandbox::build_plan;
using pyrunner::sandbox::SandboxPlan;

SandboxPlan plan_of(const Config& config) {
  auto plan = build_plan(config);
  REQUIRE(plan.ok());
  return std::move(plan.value());
}

const BindMount* bind_of(const SandboxPlan& plan, const std::string& source) {
  for (const auto& b : plan.binds)
    if (b.source == source) return &b;
  return nullptr;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

TEST_CASE("the plan takes its numbers from the config", "[sandbox]") {
  Config config;
  config.sandbox.uid = 1234;
  config.sandbox.gid = 2345;
  config.sandbox.max_file_size_mb = 7;
  config.sandbox.max_open_files = 99;
  config.sandbox.tmp_size_mb = 33;
  config.sandbox.workdir_size_mb = 44;
  config.sandbox.root_dir = "/run/pyrunner-plan-test/root";
  auto plan = plan_of(config);
  CHECK(plan.uid == 1234);
  CHECK(plan.gid == 2345);
  CHECK(plan.file_size_bytes == 7L << 20);
  CHECK(plan.open_files == 99);
  CHECK(plan.root == "/run/pyrunner-plan-test/root");
  CHECK(plan.old_root == plan.root + "/.oldroot");
  CHECK(plan.tmp_dir == plan.root + "/tmp");
  CHECK(plan.tmp_opts.find("size=33m") != std::string::npos);
  CHECK(plan.tmp_opts.find("mode=1777") != std::string::npos);  // sticky, world-writable
  CHECK(plan.dev_dir == plan.root + "/dev");
  CHECK(plan.proc_dir == plan.root + "/proc");
  // The working directory: private to the run's user, size-limited.
  CHECK(plan.workdir == plan.root + "/home/user");
  CHECK(plan.workdir_opts.find("size=44m") != std::string::npos);
  CHECK(plan.workdir_opts.find("uid=1234,gid=2345") != std::string::npos);
  CHECK(plan.workdir_opts.find("mode=0755") != std::string::npos);
  for (const auto& dir : {plan.tmp_dir, plan.dev_dir, plan.proc_dir, plan.workdir, plan.old_root}) {
    INFO(dir);
    CHECK(contains(plan.mkdirs, dir));
  }
  std::ifstream last("/proc/sys/kernel/cap_last_cap");
  int cap_last_cap = -1;
  last >> cap_last_cap;
  CHECK(plan.cap_last_cap == cap_last_cap);
  CHECK(plan.hostname == "pyrunner");
}

TEST_CASE("read-only binds: the configured paths that exist, and the module paths", "[sandbox]") {
  Config config;
  config.sandbox.readonly_paths = {"/usr", "/etc/ld.so.cache", "/nonexistent/pyrunner-plan"};
  pyrunner::testing::TempFile module("x = 1\n", "mine.py");
  const std::string module_dir = module.path().substr(0, module.path().rfind('/'));
  config.python.module_paths = {module_dir};
  auto plan = plan_of(config);
  const auto* usr = bind_of(plan, "/usr");
  REQUIRE(usr != nullptr);
  CHECK(usr->target == plan.root + "/usr");
  CHECK(usr->is_dir);
  CHECK_FALSE(usr->writable);
  const auto* cache = bind_of(plan, "/etc/ld.so.cache");
  REQUIRE(cache != nullptr);
  CHECK_FALSE(cache->is_dir);
  CHECK_FALSE(cache->writable);
  CHECK(bind_of(plan, "/nonexistent/pyrunner-plan") == nullptr);  // skipped, not an error
  const auto* modules = bind_of(plan, module_dir);
  REQUIRE(modules != nullptr);
  CHECK_FALSE(modules->writable);
  // Nothing else of the host: every bind is a configured path or a device node.
  for (const auto& b : plan.binds) {
    INFO(b.source);
    const bool configured =
        b.source == "/usr" || b.source == "/etc/ld.so.cache" || b.source == module_dir;
    CHECK((configured || b.source.rfind("/dev/", 0) == 0));
    CHECK(b.target.rfind(plan.root + "/", 0) == 0);
  }
}

TEST_CASE("the only devices are byte sinks and sources", "[sandbox]") {
  auto plan = plan_of(Config{});
  std::vector<std::string> devices;
  for (const auto& b : plan.binds) {
    if (b.source.rfind("/dev/", 0) != 0) continue;
    devices.push_back(b.source);
    INFO(b.source);
    CHECK(b.writable);
    CHECK_FALSE(b.is_dir);
    CHECK(b.target == plan.dev_dir + b.source.substr(4));
  }
  CHECK(devices == std::vector<std::string>{"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                                            "/dev/urandom"});
}

TEST_CASE("the host's top-level symlinks are recreated as they are", "[sandbox]") {
  auto plan = plan_of(Config{});
  for (const char* link : {"/bin", "/lib", "/lib64", "/sbin"}) {
    char target[PATH_MAX];
    ssize_t n = readlink(link, target, sizeof target - 1);
    const auto found = std::find_if(plan.symlinks.begin(), plan.symlinks.end(),
                                    [&](const auto& s) { return s.linkpath == plan.root + link; });
    INFO(link);
    if (n <= 0) {
      CHECK(found == plan.symlinks.end());  // a real directory (or absent) on this host
      continue;
    }
    REQUIRE(found != plan.symlinks.end());
    CHECK(found->target == std::string(target, static_cast<size_t>(n)));
  }
}

TEST_CASE("/proc: host-kernel files covered, only those that exist", "[sandbox]") {
  auto plan = plan_of(Config{});
  CHECK_FALSE(plan.proc_hidden.empty());
  for (const auto& path : plan.proc_hidden) {
    INFO(path);
    REQUIRE(path.rfind(plan.proc_dir + "/", 0) == 0);
    CHECK(access(("/proc/" + path.substr(plan.proc_dir.size() + 1)).c_str(), F_OK) == 0);
  }
  CHECK(contains(plan.proc_hidden, plan.proc_dir + "/kallsyms"));
  CHECK(contains(plan.proc_readonly, plan.proc_dir + "/sys"));
}

TEST_CASE("the run's environment is built, never copied from ours", "[sandbox]") {
  setenv("PYRUNNER_PLAN_TEST_CANARY", "leaked", 1);
  auto plan = plan_of(Config{});
  unsetenv("PYRUNNER_PLAN_TEST_CANARY");
  CHECK(plan.env == pyrunner::sandbox::sandbox_environment(Config{}.sandbox));
  for (const auto& entry : plan.env) {
    INFO(entry);
    CHECK(entry.find("PYRUNNER_PLAN_TEST_CANARY") == std::string::npos);
    CHECK(entry.find('=') != std::string::npos);
  }
  // A run of one core has one BLAS thread; $HOME is its working directory; UTF-8 throughout.
  CHECK(contains(plan.env, "OPENBLAS_NUM_THREADS=1"));
  CHECK(contains(plan.env, "HOME=/home/user"));
  CHECK(contains(plan.env, "PYTHONUTF8=1"));
  CHECK(contains(plan.env, "LC_ALL=C.UTF-8"));
}

TEST_CASE("threads and os.cpu_count() follow the run's CPU quota, rounded up", "[sandbox]") {
  Config config;
  config.sandbox.cpu_cores = 2.5;
  CHECK(pyrunner::sandbox::run_cpu_count(config.sandbox) == 3);
  CHECK(contains(plan_of(config).env, "OMP_NUM_THREADS=3"));
  config.sandbox.cpu_cores = 0.25;
  CHECK(pyrunner::sandbox::run_cpu_count(config.sandbox) == 1);
  config.sandbox.cpu_cores = 2.0;
  CHECK(pyrunner::sandbox::run_cpu_count(config.sandbox) == 2);
  // The zygote itself is always started with one thread.
  CHECK(contains(pyrunner::sandbox::sandbox_environment(), "OPENBLAS_NUM_THREADS=1"));
}

TEST_CASE("links and files the root gets: /mnt/data, /dev/shm, /etc/passwd", "[sandbox]") {
  Config config;
  config.sandbox.uid = 1234;
  auto plan = plan_of(config);
  const auto link = [&](const std::string& path) {
    auto it = std::find_if(plan.symlinks.begin(), plan.symlinks.end(),
                           [&](const auto& s) { return s.linkpath == plan.root + path; });
    return it == plan.symlinks.end() ? std::string("(none)") : it->target;
  };
  CHECK(link("/mnt/data") == "/home/user");
  CHECK(link("/dev/shm") == "/tmp");
  REQUIRE(plan.files.size() == 2);
  CHECK(plan.files[0].path == plan.root + "/etc/passwd");
  CHECK(plan.files[0].content.find("user:x:1234:") != std::string::npos);
}

TEST_CASE("the seccomp filter is compiled into the plan", "[sandbox]") {
  auto plan = plan_of(Config{});
  CHECK(plan.seccomp_filter.size() > 10);
  CHECK(plan.seccomp_filter.size() < 4096);  // BPF_MAXINSNS
}
