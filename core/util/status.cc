#include "core/util/status.h"

#include <string.h>
#include <unistd.h>

#include <cstdlib>

namespace pyrunner {

std::string errno_text(int err) {
  const char* name = strerrorname_np(err);
  std::string text = name ? name : ("errno " + std::to_string(err));
  return text + " (" + strerrordesc_np(err) + ")";
}

Status Status::Sys(const std::string& call, int err) {
  return Status(call + ": " + errno_text(err));
}

void abort_on_error(const char* what, const Status& status) {
  std::string text =
      std::string("pyrunner: bug: ") + what + " on an error: " + status.message() + "\n";
  (void)!write(2, text.data(), text.size());
  std::abort();
}

Status& Status::within(const std::string& step) {
  if (failed_) message_ = step + ": " + message_;
  return *this;
}

}  // namespace pyrunner
