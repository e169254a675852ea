#include "core/sandbox/host.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>

#include "core/util/process.h"

namespace pyrunner::sandbox {
namespace {

// The capabilities the sandbox setup uses, each for one reason.
struct NeededCap {
  int cap;
  const char* name;
  const char* why;
};
constexpr NeededCap kNeededCaps[] = {
    {CAP_SYS_ADMIN, "CAP_SYS_ADMIN", "namespaces, mounts, pivot_root"},
    {CAP_SETUID, "CAP_SETUID", "switching each run to the unprivileged uid"},
    {CAP_SETGID, "CAP_SETGID", "switching each run to the unprivileged gid"},
    {CAP_SETPCAP, "CAP_SETPCAP", "emptying each run's capability bounding set"},
    {CAP_KILL, "CAP_KILL", "killing a run (another uid) at its timeout"},
};

// "" when every needed capability is effective, else the missing ones with their reasons.
std::string missing_capabilities() {
  std::string missing;
  for (const auto& c : kNeededCaps) {
    if (!has_capability(c.cap)) {
      missing += std::string(missing.empty() ? "" : ", ") + c.name + " (" + c.why + ")";
    }
  }
  return missing;
}

// Builds matplotlib's font cache once (a trusted import on the host, ~1.5 s) so that no run has
// to: see matplotlib_cache_dir(). Best effort: without it runs still work, only slower.
void ensure_matplotlib_cache(const Config& config) {
  const std::string dir = matplotlib_cache_dir(config.sandbox);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind("fontlist", 0) == 0) return;
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return;
  std::vector<std::string> env = sandbox_environment();
  for (auto& e : env) {
    if (e.rfind("MPLCONFIGDIR=", 0) == 0) e = "MPLCONFIGDIR=" + dir;
  }
  (void)capture_output({config.python.interpreter, "-I", "-c", "import matplotlib.font_manager"},
                       env, 60000);
}

Status make_dirs(const std::string& path) {
  for (size_t pos = 1; pos != std::string::npos;) {
    pos = path.find('/', pos + 1);
    std::string part = path.substr(0, pos);
    if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
      return Status::Sys("mkdir(\"" + part + "\")", errno);
  }
  return Status::Ok();
}

}  // namespace

bool has_capability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

Result<HostSandbox> prepare_host(const Config& config) {
  HostSandbox host;
  if (std::string missing = missing_capabilities(); !missing.empty()) {
    return Status::Error("sandbox: capabilities: pyrunner is missing " + missing +
                         ". Run it as root, or in a container with the capabilities listed in "
                         "deploy/README.md");
  }
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) {
    return Status::Error(
        "sandbox: seccomp: the kernel has no seccomp support (CONFIG_SECCOMP_FILTER)");
  }
  if (auto s = make_dirs(config.sandbox.root_dir); !s.ok()) return s.within("sandbox: root_dir");
  ensure_matplotlib_cache(config);
  auto plan = build_plan(config);
  if (!plan.ok()) return plan.status();
  host.plan = std::move(plan.value());
  auto cgroups = CgroupManager::create(config.sandbox);
  if (cgroups.ok()) {
    host.cgroups = std::move(cgroups.value());
    host.cgroup_text = host.cgroups->describe();
  } else if (config.sandbox.allow_degraded) {
    host.degraded = true;
    host.cgroup_text = "none (degraded: " + cgroups.status().message() + ")";
  } else {
    return Status::Error(
        "sandbox: cgroups: " + cgroups.status().message() +
        ". Set sandbox.allow_degraded: true to run without memory/pids/CPU cgroups "
        "(rlimits and the timeout still apply)");
  }
  return host;
}

}  // namespace pyrunner::sandbox
