#pragma once
// How a confinement step in the child reports failure: a fixed buffer, no allocation, no
// exceptions (the child of a clone makes syscalls only). The parent receives the text through
// the control socket and turns it into a Status.

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

namespace pyrunner::sandbox {

struct StepError {
  char text[384] = {0};
};

/// Records "<step>: <call>: <errno name> (<description>)" and returns false.
inline bool fail(StepError* err, const char* step, const char* call_fmt, ...)
    __attribute__((format(printf, 3, 4)));
inline bool fail(StepError* err, const char* step, const char* call_fmt, ...) {
  int saved = errno;
  char call[256];
  va_list ap;
  va_start(ap, call_fmt);
  vsnprintf(call, sizeof call, call_fmt, ap);
  va_end(ap);
  const char* name = strerrorname_np(saved);
  snprintf(err->text, sizeof err->text, "%s: %s: %s (%s)", step, call, name ? name : "?",
           strerrordesc_np(saved) ? strerrordesc_np(saved) : "?");
  return false;
}

}  // namespace pyrunner::sandbox
