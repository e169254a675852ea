#pragma once
// The result of one run and its JSON encoding (shared by `run`, `serve`, and everything built
// on them). One table (result_fields) lists every field with its JSON schema: the encoder and
// the OpenAPI document are both built from it, so they cannot drift apart.

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

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
  bool truncated = false;        // stdout, stderr or results cut at their caps
  // Rich results in display order: {"type", "data": {mime: text or base64}, "metadata"}.
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  // Files the run created or changed: {"path", "size", "mime", "content": base64 | null, ...}.
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  bool files_truncated = false;
  nlohmann::ordered_json exception;  // null, or {"name", "value", "traceback": [lines]}
};

/// One field of the result: its name, its JSON schema (OpenAPI 3.0) and how it is encoded.
struct ResultField {
  const char* name;
  nlohmann::ordered_json schema;
  std::function<nlohmann::ordered_json(const RunResult&)> encode;
};
const std::vector<ResultField>& result_fields();

/// The result as a JSON object, fields in table order; invalid UTF-8 in the streams and the
/// error is replaced by U+FFFD.
nlohmann::ordered_json result_json(const RunResult& result);
std::string result_to_json(const RunResult& result);

/// The OpenAPI schema of the result object, from the same table.
nlohmann::ordered_json result_schema();

}  // namespace pyrunner
