#include "core/sandbox/contain.h"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/sandbox/credentials.h"
#include "core/sandbox/environment.h"
#include "core/sandbox/mounts.h"
#include "core/sandbox/rlimits.h"
#include "core/sandbox/seccomp.h"
#include "core/sandbox/uts.h"

// Every step of a run's confinement, in order. Cold: `pyrunner run` and the pool off (the
// server's child does it all). Warm: the zygote's children (the zygote did its part once).
//
//   where              cold path                          warm path
//   server             create the run cgroup and its limits (cgroup.h), as the plan is built
//   zygote, at start   -                                  contain_zygote_start: bounding set
//   zygote, preloaded  -                                  contain_zygote_root: mount namespace,
//                                                         environment, root template
//   clone              new namespaces (namespaces.h)      the same, from the zygote
//   server             join the child to its cgroup       the same
//   child (contain)    new session                        new session
//                      environment, whole root            /tmp, /dev/shm, /proc only
//                      hostname, rlimits                  hostname, rlimits
//   ---- privileges drop: an unprivileged uid with no capabilities from here on ----
//                      credentials, death signal          the same
//                      seccomp, last                      the same
//   child (executor)   RLIMIT_DATA once the request's memory limit is known (rlimits.h)

namespace pyrunner::sandbox {
namespace {

constexpr const char* kStep = "sandbox/contain";

bool die_with_parent(StepError* err) {
  // If the process that waits for us dies, so do we (and with us, as PID 1, the namespace).
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
    return fail(err, kStep, "prctl(PR_SET_PDEATHSIG)");
  return true;
}

// A session (and process group) of its own: the run inherited ours, which reaches outside its
// PID namespace, so kill(0, SIGKILL) would have hit the pooled children sharing it.
bool new_session(StepError* err) {
  if (setsid() < 0) return fail(err, kStep, "setsid()");
  return true;
}

// The zygote's own mount namespace: the template it builds is its and its children's alone.
bool new_mount_namespace(StepError* err) {
  if (unshare(CLONE_NEWNS) != 0) return fail(err, kStep, "unshare(CLONE_NEWNS)");
  return true;
}

}  // namespace

bool contain_zygote_start(const SandboxPlan& plan, StepError* err) {
  // Each child would empty the capability bounding set it inherits: it finds it empty. (The
  // zygote keeps the capabilities it holds; it never execs.)
  return drop_bounding_set(plan, err);
}

bool contain_zygote_root(SandboxPlan* plan, StepError* err) {
  // The host's filesystem is out of reach from here on; the environment reset needs the
  // host's /proc, so it comes before the template's pivot_root.
  if (!new_mount_namespace(err) || !reset_environment(*plan, err) ||
      !build_root_template(*plan, err))
    return false;
  plan->prebuilt_root = true;
  return true;
}

bool contain(const SandboxPlan& plan, StepError* err) {
  // In the new namespaces, as root:
  const bool prebuilt = plan.prebuilt_root;
  return new_session(err) &&
         (prebuilt || reset_environment(plan, err)) &&  // needs the host /proc: before the pivot
         (prebuilt ? mount_run_filesystems(plan, err) : build_root(plan, err)) &&
         set_hostname(plan, err) && apply_rlimits(plan, err) &&
         // ---- privileges drop here: from now on an unprivileged uid with no capabilities ----
         drop_privileges(plan, err) && enter_workdir(err) &&
         die_with_parent(err) &&  // after the uid change, which clears the death signal
         install_seccomp(plan.seccomp_filter, err);  // last: the filter holds from here on
}

}  // namespace pyrunner::sandbox
