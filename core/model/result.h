#pragma once
// The result of one run and its JSON encoding (shared by `run` and `serve`).

#include <optional>
#include <string>

#include "core/model/outcome.h"

namespace pyrunner {

struct RunResult {
  Outcome outcome = Outcome::kError;
  std::string stdout_text;  // raw bytes, capped; made valid UTF-8 when encoded
  std::string stderr_text;
  double execution_time = 0;  // seconds of wall time of the user code
  double memory_used_mb = 0;  // peak of the run's cgroup
  std::optional<std::string> error;
  std::optional<int> exit_code;  // negative: killed by that signal (as Python's subprocess)
  bool truncated = false;
};

/// {"status", "stdout", "stderr", "execution_time", "memory_used", "error", "exit_code",
///  "truncated"}; invalid UTF-8 in the streams is replaced by U+FFFD.
std::string result_to_json(const RunResult& result);

}  // namespace pyrunner
