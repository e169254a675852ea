#include "core/validator/validator.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/util/base64.h"
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

// Parses `files`: [{"path", "content", "encoding"?: "utf8" | "base64"}].
std::optional<ValidationError> read_files(const nlohmann::json& body, const LimitsConfig& limits,
                                          std::vector<InputFile>* out) {
  auto files = body.find("files");
  if (files == body.end() || files->is_null()) return std::nullopt;
  if (!files->is_array()) return invalid("files", "must be a list");
  if (static_cast<long>(files->size()) > limits.max_files)
    return invalid("files", "at most " + std::to_string(limits.max_files) + " files (got " +
                                std::to_string(files->size()) + ")");
  for (size_t i = 0; i < files->size(); ++i) {
    const auto& item = (*files)[i];
    const std::string at = "files[" + std::to_string(i) + "]";
    if (!item.is_object()) return invalid(at, "must be an object");
    auto path = item.find("path");
    if (path == item.end() || path->is_null()) return invalid(at + ".path", "field required");
    if (!path->is_string()) return invalid(at + ".path", "must be a string");
    InputFile file{path->get<std::string>(), ""};
    auto content = item.find("content");
    if (content == item.end() || content->is_null())
      return invalid(at + ".content", "field required");
    if (!content->is_string()) return invalid(at + ".content", "must be a string");
    std::string encoding = "utf8";
    if (auto e = item.find("encoding"); e != item.end() && !e->is_null()) {
      if (!e->is_string()) return invalid(at + ".encoding", "must be a string");
      encoding = e->get<std::string>();
    }
    if (encoding == "utf8" || encoding == "utf-8") {
      file.content = content->get<std::string>();
    } else if (encoding == "base64") {
      auto decoded = base64_decode(content->get_ref<const std::string&>());
      if (!decoded) return invalid(at + ".content", "is not valid base64");
      file.content = std::move(*decoded);
    } else {
      return invalid(at + ".encoding", "must be 'utf8' or 'base64' (got '" + encoding + "')");
    }
    out->push_back(std::move(file));
  }
  return std::nullopt;
}

// Paths and count of the files, however they came (JSON or `run --file`).
std::optional<ValidationError> check_files(const std::vector<InputFile>& files,
                                           const LimitsConfig& limits) {
  if (static_cast<long>(files.size()) > limits.max_files)
    return invalid("files", "at most " + std::to_string(limits.max_files) + " files (got " +
                                std::to_string(files.size()) + ")");
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string at = "files[" + std::to_string(i) + "].path";
    const std::string& path = files[i].path;
    if (auto reason = relative_path_error(path)) return invalid(at, *reason);
    for (size_t j = 0; j < i; ++j) {
      const std::string& other = files[j].path;
      const std::string earlier = "files[" + std::to_string(j) + "].path";
      if (other == path) return invalid(at, "duplicate of " + earlier);
      const bool other_shorter = other.size() < path.size();
      const std::string& shorter = other_shorter ? other : path;
      const std::string& longer = other_shorter ? path : other;
      if (longer.compare(0, shorter.size(), shorter) == 0 && longer[shorter.size()] == '/')
        return invalid(at, "'" + shorter +
                               "' is a file in one item and a directory in the other (" + earlier +
                               ")");
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> relative_path_error(const std::string& path) {
  if (path.empty()) return "must not be empty";
  if (path[0] == '/') return "must be relative";
  if (path.find('\0') != std::string::npos) return "must not contain NUL";
  if (path.size() > 4096) return "must be at most 4096 bytes";
  if (!is_valid_utf8(path)) return "must be valid UTF-8";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string_view part(path.data() + start, end - start);
    if (part.empty()) return "must not have empty parts ('//' or a trailing '/')";
    if (part == "..") return "must not contain '..'";
    if (part == ".") return "must not contain '.' parts";
    if (part.size() > 255) return "has a part longer than 255 bytes";
    start = end + 1;
  }
  return std::nullopt;
}

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
  return check_files(r.files, limits_);
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

std::variant<RunRequest, ValidationError> RequestValidator::from_json(
    std::string_view text, nlohmann::json* parsed) const {
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return ValidationError{400, std::string("body: invalid JSON: ") + e.what()};
  }
  auto request = from_value(body);
  if (parsed != nullptr) *parsed = std::move(body);
  return request;
}

std::variant<RunRequest, ValidationError> RequestValidator::from_value(
    const nlohmann::json& body) const {
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
  if (auto e = read_files(body, limits_, &r.files)) return *e;
  if (auto e = check(r)) return *e;
  return r;
}

}  // namespace pyrunner
