#pragma once
// What one run is asked to do, after validation (limits filled in from the config).

#include <string>

namespace pyrunner {

struct RunRequest {
  std::string code;
  std::string stdin_data;
  int timeout_s = 30;
  int memory_mb = 512;
};

}  // namespace pyrunner
