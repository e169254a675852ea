#include "core/sandbox/rlimits.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

namespace pyrunner::sandbox {
namespace {

constexpr const char* kStep = "sandbox/rlimits";

bool set_limit(int resource, const char* name, rlim_t value, StepError* err) {
  rlimit lim{value, value};  // soft == hard: the run cannot raise it back
  if (setrlimit(resource, &lim) != 0)
    return fail(err, kStep, "setrlimit(%s, %llu)", name, (unsigned long long)value);
  return true;
}

// VmData of this process in bytes, from /proc/self/status (the run's own /proc).
bool current_data_bytes(unsigned long long* out) {
  char buf[4096];
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  const char* line = strstr(buf, "\nVmData:");
  if (line == nullptr) return false;
  *out = strtoull(line + 8, nullptr, 10) * 1024;
  return true;
}

}  // namespace

bool apply_rlimits(const SandboxPlan& plan, StepError* err) {
  return set_limit(RLIMIT_FSIZE, "RLIMIT_FSIZE", static_cast<rlim_t>(plan.file_size_bytes), err) &&
         set_limit(RLIMIT_CORE, "RLIMIT_CORE", 0, err) &&  // no core files, no memory dumps
         set_limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", static_cast<rlim_t>(plan.open_files), err) &&
         set_limit(RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", 0, err) &&     // POSIX queues are unused
         set_limit(RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK", 64 << 10, err);  // pinned pages dodge reclaim
}

bool mapped_data_bytes(unsigned long long* out, StepError* err) {
  return current_data_bytes(out) || fail(err, kStep, "read(\"/proc/self/status\")");
}

bool limit_data(unsigned long long mapped, unsigned long long limit_bytes, StepError* err) {
  return set_limit(RLIMIT_DATA, "RLIMIT_DATA", static_cast<rlim_t>(mapped + limit_bytes), err);
}

}  // namespace pyrunner::sandbox
