#pragma once
/// Request validation shared by `run` and `serve`: limits, sizes, encodings, and the JSON body
/// of POST /run. The static import/builtin policy is in policy.h.

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/config/config.h"
#include "core/model/request.h"

namespace pyrunner {

struct ValidationError {
  int http_status;     // 400 unparseable, 413 too large, 422 invalid
  std::string detail;  // "<field>: <reason>"
};

/// Why `path` cannot name a file in the working directory (absolute, '..', '.', empty parts,
/// NUL, not UTF-8, too long), or nullopt when it can.
std::optional<std::string> relative_path_error(const std::string& path);

class RequestValidator {
 public:
  explicit RequestValidator(const LimitsConfig& limits) : limits_(limits) {}

  /// Checks a request whose limits are already filled in.
  std::optional<ValidationError> check(const RunRequest& request) const;
  /// Parses and checks the body of POST /run (`files` included); unknown fields are ignored.
  /// `parsed` (optional) receives the parsed body, for the fields other features read from it.
  std::variant<RunRequest, ValidationError> from_json(std::string_view body,
                                                      nlohmann::json* parsed = nullptr) const;
  /// The same checks on a body already parsed (a batch item, a grade request).
  std::variant<RunRequest, ValidationError> from_value(const nlohmann::json& body) const;
  /// A request with the config's default limits.
  RunRequest with_defaults(std::string code) const;
  /// Sets `timeout` or `memory_limit` (the JSON field name) of `request` from a command-line
  /// flag's text, by the same rules as the JSON field: "2.0" is 2; "2.5", "true" and "x" are not
  /// integers; out of range is an error naming the range.
  std::optional<ValidationError> read_limit_flag(const std::string& field, std::string_view text,
                                                 RunRequest* request) const;
  /// Sets `timeout` or `memory_limit` of `request` from a JSON value (a grade's per-test limit).
  std::optional<ValidationError> read_limit(const std::string& field, const nlohmann::json& value,
                                            RunRequest* request) const;

 private:
  const LimitsConfig& limits_;
};

}  // namespace pyrunner
