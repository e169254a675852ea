#include "core/validator/validator.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/util/utf8.h"

namespace pyrunner {
namespace {

ValidationError invalid(const std::string& field, const std::string& reason) {
  return {422, field + ": " + reason};
}

std::string range_text(long lo, long hi, const std::string& got) {
  return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " (got " + got +
         ")";
}

// The characters Python's str.isspace() accepts: the original service rejected code for which
// `code.strip()` is empty, so this is the same set, not just ASCII.
bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

// `text` is valid UTF-8 (checked before); true when every code point is whitespace.
bool only_whitespace(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    auto lead = static_cast<unsigned char>(text[i]);
    int length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    char32_t c = length == 1 ? lead : lead & (0x7F >> length);
    for (int k = 1; k < length; ++k)
      c = (c << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    if (!is_python_space(c)) return false;
    i += length;
  }
  return true;
}

// One integer limit by the rule the original service applied: 2.0 counts as 2 (its validator
// accepted it); 2.5, true and "2" do not. A whole number outside [lo, hi] gets the range text
// even when it does not fit an int (1e20, 10**13).
std::optional<ValidationError> read_int(const nlohmann::json& value, const std::string& field,
                                        long lo, long hi, int* out) {
  // bool is not a number to nlohmann; integers of any size compare fine as doubles.
  double whole = value.is_number() ? value.get<double>() : NAN;
  if (!std::isfinite(whole) || whole != std::floor(whole))
    return invalid(field, "must be an integer");
  if (whole < static_cast<double>(lo) || whole > static_cast<double>(hi))
    return invalid(field, range_text(lo, hi, value.dump()));
  *out = static_cast<int>(whole);
  return std::nullopt;
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
  if (only_whitespace(r.code)) return invalid("code", "must not be empty (it is only whitespace)");
  if (r.code.find('\0') != std::string::npos) return invalid("code", "must not contain NUL bytes");
  if (r.timeout_s < 1 || r.timeout_s > limits_.max_timeout)
    return invalid("timeout", range_text(1, limits_.max_timeout, std::to_string(r.timeout_s)));
  if (r.memory_mb < limits_.min_memory_mb || r.memory_mb > limits_.max_memory_mb)
    return invalid("memory_limit", range_text(limits_.min_memory_mb, limits_.max_memory_mb,
                                              std::to_string(r.memory_mb)));
  if (static_cast<long>(r.stdin_data.size()) > limits_.max_stdin_bytes) {
    return invalid("stdin", "must be at most " + std::to_string(limits_.max_stdin_bytes) +
                                " bytes (got " + std::to_string(r.stdin_data.size()) + ")");
  }
  return std::nullopt;
}

std::optional<ValidationError> RequestValidator::read_limit(const std::string& field,
                                                            const nlohmann::json& value,
                                                            RunRequest* request) const {
  if (field == "timeout")
    return read_int(value, field, 1, limits_.max_timeout, &request->timeout_s);
  return read_int(value, field, limits_.min_memory_mb, limits_.max_memory_mb, &request->memory_mb);
}

std::optional<ValidationError> RequestValidator::read_limit_flag(const std::string& field,
                                                                 std::string_view text,
                                                                 RunRequest* request) const {
  // The flag's text is read as a JSON value, so "2.0", "2.5", "true" and "1e20" mean on the
  // command line what they mean in a request body.
  auto value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return invalid(field, "must be an integer");
  return read_limit(field, value, request);
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
  for (const char* field : {"timeout", "memory_limit"}) {
    auto it = body.find(field);
    if (it == body.end() || it->is_null()) continue;  // null or absent: the default
    if (auto e = read_limit(field, *it, &r)) return *e;
  }
  auto input = body.find("stdin");
  if (input != body.end() && !input->is_null()) {
    if (!input->is_string()) return invalid("stdin", "must be a string");
    r.stdin_data = input->get<std::string>();
  }
  if (auto e = check(r)) return *e;
  return r;
}

}  // namespace pyrunner
