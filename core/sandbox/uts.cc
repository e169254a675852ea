#include "core/sandbox/uts.h"

#include <unistd.h>

namespace pyrunner::sandbox {

bool set_hostname(const SandboxPlan& plan, StepError* err) {
  if (sethostname(plan.hostname.c_str(), plan.hostname.size()) != 0)
    return fail(err, "sandbox/uts", "sethostname(\"%s\")", plan.hostname.c_str());
  return true;
}

}  // namespace pyrunner::sandbox
