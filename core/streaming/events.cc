#include "core/streaming/events.h"

#include "core/util/utf8.h"

namespace pyrunner::streaming {
namespace {

using json = nlohmann::ordered_json;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

// Whether a media range's parameters say q=0 (RFC 9110: "not acceptable").
bool refused(std::string_view params) {
  while (!params.empty()) {
    const size_t semi = params.find(';');
    const std::string_view p = trim(params.substr(0, semi));
    if (p.size() > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
      const std::string_view value = p.substr(2);
      return value.find_first_not_of("0.") == std::string_view::npos;
    }
    if (semi == std::string_view::npos) break;
    params.remove_prefix(semi + 1);
  }
  return false;
}

// The length of the UTF-8 sequence a lead byte starts, and the range its second byte must be
// in (RFC 3629, as sanitize_utf8 judges it); 0 for a byte that starts none.
int lead_length(unsigned char c, unsigned char* lo, unsigned char* hi) {
  *lo = 0x80;
  *hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) {
    if (c == 0xE0) *lo = 0xA0;
    if (c == 0xED) *hi = 0x9F;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (c == 0xF0) *lo = 0x90;
    if (c == 0xF4) *hi = 0x8F;
    return 4;
  }
  return 0;
}

// Where the character `bytes` ends in the middle of starts, if more bytes could complete it;
// npos when `bytes` ends between characters (or with bytes no continuation can make valid).
size_t unfinished_tail(std::string_view bytes) {
  const size_t n = bytes.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const size_t i = n - back;
    unsigned char lo, hi;
    const int len = lead_length(static_cast<unsigned char>(bytes[i]), &lo, &hi);
    if (len == 0) continue;  // a continuation byte (or ASCII, or invalid): look further back
    if (static_cast<size_t>(len) <= back) return std::string_view::npos;  // complete (or not)
    for (size_t k = i + 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(bytes[k]);
      const bool fits = k == i + 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
      if (!fits) return std::string_view::npos;  // invalid whatever follows
    }
    return i;
  }
  return std::string_view::npos;
}

}  // namespace

Format format_of(std::string_view accept) {
  while (!accept.empty()) {
    const size_t comma = accept.find(',');
    std::string_view range = accept.substr(0, comma);
    const size_t semi = range.find(';');
    const std::string_view type = trim(range.substr(0, semi));
    const std::string_view params =
        semi == std::string_view::npos ? std::string_view() : range.substr(semi + 1);
    if (!refused(params)) {
      if (iequals(type, kNdjsonType)) return Format::kNdjson;
      if (iequals(type, kSseType)) return Format::kSse;
    }
    if (comma == std::string_view::npos) break;
    accept.remove_prefix(comma + 1);
  }
  return Format::kNone;
}

const char* content_type(Format format) {
  return format == Format::kSse ? kSseType : format == Format::kNdjson ? kNdjsonType : "";
}

std::string frame(Format format, std::string_view type, std::string_view json_text) {
  std::string out;
  if (format == Format::kSse) {
    // The JSON text has no raw newline (dump() escapes them), so it is one data line.
    out.reserve(json_text.size() + type.size() + 16);
    out.append("event: ").append(type).append("\ndata: ").append(json_text).append("\n\n");
  } else {
    out.reserve(json_text.size() + 1);
    out.append(json_text).append("\n");
  }
  return out;
}

std::string TextSplitter::push(std::string_view bytes) {
  std::string_view all = bytes;
  if (!held_.empty()) {
    held_.append(bytes);
    all = held_;
  }
  const size_t tail = unfinished_tail(all);
  std::string text =
      sanitize_utf8(all.substr(0, tail == std::string_view::npos ? all.size() : tail));
  held_ = tail == std::string_view::npos ? std::string() : std::string(all.substr(tail));
  return text;
}

std::string TextSplitter::flush() {
  std::string text = sanitize_utf8(held_);
  held_.clear();
  return text;
}

std::string text_event(std::string_view type, std::string_view text) {
  return json{{"type", type}, {"text", text}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string result_event(std::string_view result_json) {
  std::string out;
  out.reserve(result_json.size() + 32);
  out.append(R"({"type":"result","result":)").append(result_json).append("}");
  return out;
}

std::string error_event(int status, std::string_view detail) {
  return json{{"type", "error"}, {"status", status}, {"detail", detail}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

json event_schema(const json& result_schema) {
  const auto text = [](const char* type, const char* description) {
    return json{
        {"type", "object"},
        {"description", description},
        {"required", {"type", "text"}},
        {"properties",
         {{"type", {{"type", "string"}, {"enum", {type}}}}, {"text", {{"type", "string"}}}}}};
  };
  return {{"description",
           "One event of a streamed run (Accept: application/x-ndjson: one per line; "
           "text/event-stream: \"event: <type>\" and \"data: <this JSON>\"). Output, then the "
           "result event last: its result is the answer the route gives without streaming."},
          {"oneOf",
           {text("stdout",
                 "Standard output, as printed (in pieces; together they are the result's "
                 "stdout, within the same cap)"),
            text("stderr", "Standard error, likewise"),
            {{"type", "object"},
             {"description",
              "Something the code displayed (a figure, display(obj)) or the value of its last "
              "expression: the item the result's results list has at this place"},
             {"required", {"type", "data"}},
             {"properties",
              {{"type", {{"type", "string"}, {"enum", {"display", "execute_result"}}}},
               {"data", {{"type", "object"}, {"additionalProperties", true}}},
               {"metadata", {{"type", "object"}, {"additionalProperties", true}}}}}},
            {{"type", "object"},
             {"description", "The last event: the run's result"},
             {"required", {"type", "result"}},
             {"properties",
              {{"type", {{"type", "string"}, {"enum", {"result"}}}}, {"result", result_schema}}}},
            {{"type", "object"},
             {"description",
              "The last event instead of result when the run started but ended without one "
              "(the server shutting down, an internal error): the status and detail the answer "
              "would have had"},
             {"required", {"type", "status", "detail"}},
             {"properties",
              {{"type", {{"type", "string"}, {"enum", {"error"}}}},
               {"status", {{"type", "integer"}}},
               {"detail", {{"type", "string"}}}}}}}}};
}

}  // namespace pyrunner::streaming
