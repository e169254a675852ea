#include "core/sandbox/credentials.h"

#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace pyrunner::sandbox {
namespace {

constexpr const char* kStep = "sandbox/credentials";

}  // namespace

bool drop_bounding_set(const SandboxPlan& plan, StepError* err) {
  for (int cap = 0; cap <= plan.cap_last_cap; ++cap) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) <= 0) continue;  // dropped already (or unknown)
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
      return fail(err, kStep, "prctl(PR_CAPBSET_DROP, %d)", cap);
  }
  return true;
}

bool drop_privileges(const SandboxPlan& plan, StepError* err) {
  // While we still hold CAP_SETPCAP.
  if (!drop_bounding_set(plan, err)) return false;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return fail(err, kStep, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return fail(err, kStep, "prctl(PR_SET_KEEPCAPS, 0)");
  // Supplementary groups first (it needs CAP_SETGID), then gid, then uid last.
  if (setgroups(0, nullptr) != 0) return fail(err, kStep, "setgroups(0)");
  if (setresgid(plan.gid, plan.gid, plan.gid) != 0)
    return fail(err, kStep, "setresgid(%u)", plan.gid);
  if (setresuid(plan.uid, plan.uid, plan.uid) != 0)
    return fail(err, kStep, "setresuid(%u)", plan.uid);
  // Changing uid away from 0 cleared permitted and effective; clear inheritable too.
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capset, &header, data) != 0) return fail(err, kStep, "capset(0)");
  // The uid change made us non-dumpable, which hands /proc/self/* to root and breaks ordinary
  // code (subprocess lists /proc/self/fd). ptrace is refused by seccomp, cores by RLIMIT_CORE.
  if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) return fail(err, kStep, "prctl(PR_SET_DUMPABLE, 1)");
  // Verify rather than trust: a setuid that silently did nothing would leave root.
  if (getuid() != plan.uid || geteuid() != plan.uid || getgid() != plan.gid)
    return fail(err, kStep, "verify uid %u", plan.uid);
  return true;
}

}  // namespace pyrunner::sandbox
