#include "core/validator/validator.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/util/utf8.h"

namespace pyrunner {
namespace {

ValidationError invalid(const std::string& field, const std::string& reason) {
  return {422, field + ": " + reason};
}

std::string range_text(long lo, long hi, long got) {
  return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " (got " +
         std::to_string(got) + ")";
}

// Reads an optional integer field; null or absent keeps `value`. 2.0 counts as 2 (as the
// original service's validator accepted it); 2.5, true and "2" do not.
std::optional<ValidationError> read_int(const nlohmann::json& body, const char* field, int* value) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (it->is_number_integer()) {
    auto v = it->get<long long>();
    if (v < INT32_MIN || v > INT32_MAX) return invalid(field, "must be an integer in range");
    *value = static_cast<int>(v);
    return std::nullopt;
  }
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 2e9) {
      *value = static_cast<int>(d);
      return std::nullopt;
    }
  }
  return invalid(field, "must be an integer");
}

}  // namespace

RunRequest RequestValidator::with_defaults(std::string code) const {
  RunRequest r;
  r.code = std::move(code);
  r.timeout_s = limits_.default_timeout;
  r.memory_mb = limits_.default_memory_mb;
  return r;
}

std::optional<ValidationError> RequestValidator::check(const RunRequest& r) const {
  if (r.code.empty()) return invalid("code", "must not be empty");
  if (static_cast<long>(r.code.size()) > limits_.max_code_bytes) {
    return invalid("code", "must be at most " + std::to_string(limits_.max_code_bytes) +
                               " bytes (got " + std::to_string(r.code.size()) + ")");
  }
  if (!is_valid_utf8(r.code)) return invalid("code", "must be valid UTF-8");
  if (r.code.find('\0') != std::string::npos) return invalid("code", "must not contain NUL bytes");
  if (r.timeout_s < 1 || r.timeout_s > limits_.max_timeout)
    return invalid("timeout", range_text(1, limits_.max_timeout, r.timeout_s));
  if (r.memory_mb < limits_.min_memory_mb || r.memory_mb > limits_.max_memory_mb)
    return invalid("memory_limit",
                   range_text(limits_.min_memory_mb, limits_.max_memory_mb, r.memory_mb));
  if (static_cast<long>(r.stdin_data.size()) > limits_.max_stdin_bytes) {
    return invalid("stdin", "must be at most " + std::to_string(limits_.max_stdin_bytes) +
                                " bytes (got " + std::to_string(r.stdin_data.size()) + ")");
  }
  return std::nullopt;
}

std::variant<RunRequest, ValidationError> RequestValidator::from_json(std::string_view text) const {
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return ValidationError{400, std::string("body: invalid JSON: ") + e.what()};
  }
  if (!body.is_object()) return invalid("body", "must be a JSON object");
  RunRequest r = with_defaults("");
  auto code = body.find("code");
  if (code == body.end() || code->is_null()) return invalid("code", "field required");
  if (!code->is_string()) return invalid("code", "must be a string");
  r.code = code->get<std::string>();
  if (auto e = read_int(body, "timeout", &r.timeout_s)) return *e;
  if (auto e = read_int(body, "memory_limit", &r.memory_mb)) return *e;
  auto input = body.find("stdin");
  if (input != body.end() && !input->is_null()) {
    if (!input->is_string()) return invalid("stdin", "must be a string");
    r.stdin_data = input->get<std::string>();
  }
  if (auto e = check(r)) return *e;
  return r;
}

}  // namespace pyrunner
