#include "core/sandbox/contain.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/sandbox/credentials.h"
#include "core/sandbox/environment.h"
#include "core/sandbox/mounts.h"
#include "core/sandbox/rlimits.h"
#include "core/sandbox/seccomp.h"
#include "core/sandbox/uts.h"

namespace pyrunner::sandbox {
namespace {

bool die_with_parent(StepError* err) {
  // If the process that waits for us dies, so do we (and with us, as PID 1, the namespace).
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
    return fail(err, "sandbox/contain", "prctl(PR_SET_PDEATHSIG)");
  return true;
}

// A session (and process group) of its own: the run inherited ours, which reaches outside its
// PID namespace, so kill(0, SIGKILL) would have hit the pooled children sharing it.
bool new_session(StepError* err) {
  if (setsid() < 0) return fail(err, "sandbox/contain", "setsid()");
  return true;
}

}  // namespace

bool contain(const SandboxPlan& plan, StepError* err) {
  // The cgroup is created and joined from outside by the parent (cgroup.h); namespaces were
  // created by clone (namespaces.h). In the new namespaces, as root:
  // A zygote that built the root template reset its environment before it moved in, once for
  // all its children.
  const bool prebuilt = plan.prebuilt_root;
  return new_session(err) &&
         (prebuilt || reset_environment(plan, err)) &&  // needs the host /proc: before the pivot
         (prebuilt ? mount_run_filesystems(plan, err) : build_root(plan, err)) &&
         set_hostname(plan, err) && apply_rlimits(plan, err) &&
         // ---- privileges drop here: from now on an unprivileged uid with no capabilities ----
         drop_privileges(plan, err) &&
         die_with_parent(err) &&  // after the uid change, which clears the death signal
         install_seccomp(plan.seccomp_filter, err);  // last: the filter holds from here on
}

}  // namespace pyrunner::sandbox
