#include "core/sandbox/host.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace pyrunner::sandbox {
namespace {

bool has_cap_sys_admin() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[0].effective & (1u << CAP_SYS_ADMIN)) != 0;
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

Result<HostSandbox> prepare_host(const Config& config) {
  HostSandbox host;
  if (!has_cap_sys_admin()) {
    return Status::Error(
        "sandbox: namespaces: pyrunner needs CAP_SYS_ADMIN (run it as root, or in a container with "
        "the capabilities listed in deploy/README.md) to create the per-run mount, PID and network "
        "namespaces");
  }
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) {
    return Status::Error(
        "sandbox: seccomp: the kernel has no seccomp support (CONFIG_SECCOMP_FILTER)");
  }
  if (auto s = make_dirs(config.sandbox.root_dir); !s.ok()) return s.within("sandbox: root_dir");
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
