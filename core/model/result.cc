#include "core/model/result.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/util/utf8.h"

namespace pyrunner {

std::string result_to_json(const RunResult& r) {
  nlohmann::ordered_json j;
  j["status"] = outcome_status(r.outcome);
  j["stdout"] = sanitize_utf8(r.stdout_text);
  j["stderr"] = sanitize_utf8(r.stderr_text);
  j["execution_time"] = std::round(r.execution_time * 1e4) / 1e4;
  j["memory_used"] = std::round(r.memory_used_mb * 100) / 100;
  j["error"] = r.error ? nlohmann::ordered_json(sanitize_utf8(*r.error)) : nullptr;
  j["exit_code"] = r.exit_code ? nlohmann::ordered_json(*r.exit_code) : nullptr;
  j["truncated"] = r.truncated;
  return j.dump();
}

}  // namespace pyrunner
