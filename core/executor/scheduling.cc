#include "core/executor/scheduling.h"

#include <linux/capability.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace pyrunner {

bool background_scheduling_available() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_SYS_NICE / 32].effective & (1u << (CAP_SYS_NICE % 32))) != 0;
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
