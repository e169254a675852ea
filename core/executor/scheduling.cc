#include "core/executor/scheduling.h"

#include <linux/capability.h>
#include <sched.h>

#include "core/sandbox/host.h"

namespace pyrunner {

bool background_scheduling_available() {
  // Asked once per run; a process's capabilities do not change while it serves.
  static const bool available = sandbox::has_capability(CAP_SYS_NICE);
  return available;
}

void to_background(pid_t id) {
  if (!background_scheduling_available()) return;
  sched_param param{};
  sched_setscheduler(id, SCHED_IDLE, &param);
}

void to_foreground(pid_t pid) {
  sched_param param{};
  sched_setscheduler(pid, SCHED_OTHER, &param);  // EPERM only where to_background() did nothing
}

}  // namespace pyrunner
