#pragma once
/// Request validation shared by `run` and `serve`: limits, sizes, encodings, and the JSON body
/// of POST /run. The static import/builtin policy is in policy.h.

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

class RequestValidator {
 public:
  explicit RequestValidator(const LimitsConfig& limits) : limits_(limits) {}

  /// Checks a request whose limits are already filled in.
  std::optional<ValidationError> check(const RunRequest& request) const;
  /// Parses and checks the body of POST /run; unknown fields are ignored.
  std::variant<RunRequest, ValidationError> from_json(std::string_view body) const;
  /// A request with the config's default limits.
  RunRequest with_defaults(std::string code) const;

 private:
  const LimitsConfig& limits_;
};

}  // namespace pyrunner
