#include "core/executor/record.h"

#include <nlohmann/json.hpp>

namespace pyrunner {

Record parse_record(const std::string& control) {
  Record r;
  size_t pos = control.rfind("D {");
  if (pos == std::string::npos || (pos > 0 && control[pos - 1] != '\n')) return r;
  auto end = control.find('\n', pos);
  if (end == std::string::npos) return r;  // not complete yet
  try {
    auto j = nlohmann::json::parse(control.substr(pos + 2, end - pos - 2));
    r.exit_code = j.value("exit_code", 0);
    if (j.contains("error") && j["error"].is_string()) r.error = j["error"].get<std::string>();
    r.memory_error = j.value("memory_error", false);
    r.time = j.value("time", -1.0);
    r.present = true;
  } catch (const nlohmann::json::exception&) {
  }
  return r;
}

}  // namespace pyrunner
