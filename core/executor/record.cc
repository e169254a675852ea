#include "core/executor/record.h"

#include "core/util/utf8.h"
#include "core/validator/validator.h"

namespace pyrunner {
namespace {

using json = nlohmann::ordered_json;

// Nesting a display item or a file may have (application/json data is the deep one).
constexpr int kMaxDepth = 64;
// The record itself: a few fields and a traceback.
constexpr size_t kMaxRecordBytes = 1 << 20;

std::optional<json> parse_object(std::string_view text) {
  if (!json_depth_within(text, kMaxDepth)) return std::nullopt;
  json j = json::parse(sanitize_utf8(text), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  return j;
}

bool is_string_map(const json& j) {
  if (!j.is_object()) return false;
  for (const auto& [key, value] : j.items()) {
    // JSON data (application/json, application/*+json) may be any value; the rest is text or
    // base64.
    const bool json_type = key.size() >= 4 && key.compare(key.size() - 4, 4, "json") == 0;
    if (!json_type && !value.is_string()) return false;
  }
  return true;
}

}  // namespace

bool json_depth_within(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

RunRecord parse_record(std::string_view text) {
  RunRecord r;
  auto j = parse_object(text);
  if (!j) return r;
  const auto& o = *j;
  auto code = o.find("exit_code");
  if (code == o.end() || !code->is_number_integer()) return r;
  r.exit_code = code->get<int>();
  if (auto e = o.find("error"); e != o.end() && e->is_string()) r.error = e->get<std::string>();
  if (auto m = o.find("memory_error"); m != o.end() && m->is_boolean()) r.memory_error = *m;
  if (auto t = o.find("time"); t != o.end() && t->is_number()) r.time = t->get<double>();
  if (auto t = o.find("results_truncated"); t != o.end() && t->is_boolean())
    r.results_truncated = *t;
  if (auto t = o.find("files_truncated"); t != o.end() && t->is_boolean()) r.files_truncated = *t;
  if (auto e = o.find("exception"); e != o.end() && e->is_object()) {
    const auto name = e->find("name"), value = e->find("value"), tb = e->find("traceback");
    if (name != e->end() && name->is_string() && value != e->end() && value->is_string() &&
        tb != e->end() && tb->is_array() &&
        std::all_of(tb->begin(), tb->end(), [](const json& l) { return l.is_string(); })) {
      r.exception = {{"name", *name}, {"value", *value}, {"traceback", *tb}};
    }
  }
  r.present = true;
  return r;
}

void ControlReader::feed(std::string_view bytes) {
  // The longest line worth reading: one item that fits the larger of the two budgets.
  const size_t max_line = std::max({caps_.results_bytes, caps_.files_bytes, kMaxRecordBytes}) + 64;
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    const std::string_view chunk = bytes.substr(0, nl);
    if (!skipping_) {
      if (partial_.size() + chunk.size() > max_line) {
        // Too long for any message: not kept, whatever it is.
        skipping_ = true;
        partial_.clear();
        results_dropped_ = true;
      } else {
        partial_.append(chunk);
      }
    }
    if (nl == std::string_view::npos) return;
    if (!skipping_) line(partial_);
    partial_.clear();
    skipping_ = false;
    bytes.remove_prefix(nl + 1);
  }
}

void ControlReader::line(std::string_view text) {
  if (text.size() < 2 || text[1] != ' ') return;  // "R" and anything unknown
  const std::string_view body = text.substr(2);
  switch (text[0]) {
    case 'D': {
      auto r = parse_record(body);
      if (r.present) record_ = std::move(r);  // the last complete record counts
      return;
    }
    case 'M':
      if (results_used_ + text.size() > caps_.results_bytes) {
        results_dropped_ = true;
        return;
      }
      if (auto j = parse_object(body)) {
        results_used_ += text.size();
        display(std::move(*j));
      } else {
        results_dropped_ = true;
      }
      return;
    case 'S':
      code_started_ = true;
      return;
    case 'F':
      if (files_.size() >= caps_.max_files || files_used_ + text.size() > caps_.files_bytes) {
        files_dropped_ = true;
        return;
      }
      if (auto j = parse_object(body)) {
        files_used_ += text.size();
        file(std::move(*j));
      } else {
        files_dropped_ = true;
      }
      return;
    default:
      return;
  }
}

void ControlReader::display(json item) {
  auto type = item.find("type");
  auto data = item.find("data");
  if (type == item.end() || !type->is_string() ||
      (*type != "display" && *type != "execute_result") || data == item.end() ||
      !is_string_map(*data)) {
    results_dropped_ = true;
    return;
  }
  auto metadata = item.find("metadata");
  json clean = {
      {"type", *type},
      {"data", *data},
      {"metadata", metadata != item.end() && metadata->is_object() ? *metadata : json::object()}};
  if (on_display_) on_display_(clean);
  results_.push_back(std::move(clean));
}

void ControlReader::file(json item) {
  auto path = item.find("path"), size = item.find("size"), mime = item.find("mime"),
       content = item.find("content");
  // Only a name in the working directory, as the runner lists them: a client that saves the
  // files by name must never be sent "../../etc/passwd".
  if (path == item.end() || !path->is_string() ||
      relative_path_error(path->get_ref<const std::string&>()) || size == item.end() ||
      !size->is_number_unsigned() || mime == item.end() || !mime->is_string() ||
      content == item.end() || !(content->is_string() || content->is_null())) {
    files_dropped_ = true;
    return;
  }
  json clean = {{"path", *path}, {"size", *size}, {"mime", *mime}, {"content", *content}};
  if (auto omitted = item.find("omitted"); omitted != item.end() && omitted->is_string())
    clean["omitted"] = *omitted;
  files_.push_back(std::move(clean));
}

}  // namespace pyrunner
