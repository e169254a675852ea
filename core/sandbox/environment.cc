#include "core/sandbox/environment.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

namespace pyrunner::sandbox {
namespace {

constexpr const char* kStep = "sandbox/environment";

// Fields 50 and 51 of /proc/self/stat: the address range /proc/self/environ reads.
bool environ_block(unsigned long* start, unsigned long* end) {
  char buf[2048];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  char* p = strrchr(buf, ')');  // the command name may contain spaces and parentheses
  if (p == nullptr) return false;
  int field = 2;
  unsigned long values[2] = {0, 0};
  for (char* tok = strtok(p + 1, " "); tok != nullptr; tok = strtok(nullptr, " ")) {
    ++field;
    if (field == 50) values[0] = strtoul(tok, nullptr, 10);
    if (field == 51) values[1] = strtoul(tok, nullptr, 10);
  }
  *start = values[0];
  *end = values[1];
  return *end > *start;
}

}  // namespace

bool reset_environment(const SandboxPlan& plan, StepError* err) {
  unsigned long start = 0, end = 0;
  if (!environ_block(&start, &end))
    return fail(err, kStep, "read(\"/proc/self/stat\") env_start/env_end");
  memset(reinterpret_cast<void*>(start), 0, end - start);
  if (clearenv() != 0) return fail(err, kStep, "clearenv()");
  for (const auto& entry : plan.env) {
    if (putenv(const_cast<char*>(entry.c_str())) != 0)
      return fail(err, kStep, "putenv(\"%s\")", entry.c_str());
  }
  return true;
}

}  // namespace pyrunner::sandbox
