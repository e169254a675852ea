#include "core/model/result.h"

#include <cmath>

#include "core/util/utf8.h"

namespace pyrunner {
namespace {

using nlohmann::ordered_json;

ordered_json text(const std::string& s) { return sanitize_utf8(s); }

ordered_json schema(const char* type, const char* description) {
  return {{"type", type}, {"description", description}};
}

ordered_json nullable(ordered_json s) {
  s["nullable"] = true;
  return s;
}

ordered_json bundle_schema() {
  return {
      {"type", "object"},
      {"required", {"type", "data"}},
      {"properties",
       {{"type", {{"type", "string"}, {"enum", {"display", "execute_result"}}}},
        {"data",
         {{"type", "object"},
          {"description",
           "MIME type -> content: text as is, binary (image/png, image/jpeg, application/pdf) "
           "as one line of base64, application/json as JSON. Always has text/plain."},
          {"additionalProperties", true}}},
        {"metadata",
         {{"type", "object"},
          {"description", "Per MIME type, e.g. {\"image/png\": {\"width\": 640, \"height\": 480}}"},
          {"additionalProperties", true}}}}}};
}

ordered_json file_schema() {
  return {{"type", "object"},
          {"required", {"path", "size", "mime", "content"}},
          {"properties",
           {{"path", schema("string", "Relative to the working directory; sorted by path")},
            {"size", schema("integer", "Bytes")},
            {"mime", schema("string", "Guessed from the name")},
            {"content", nullable(schema("string", "Base64, or null when omitted"))},
            {"omitted", schema("string",
                               "Why content is null: 'too large' (over the inline caps) or "
                               "'unreadable' (it changed while it was read)")}}}};
}

ordered_json exception_schema() {
  return {
      {"type", "object"},
      {"nullable", true},
      {"description", "The uncaught exception (SyntaxError included), without pyrunner's frames"},
      {"properties",
       {{"name", schema("string", "ZeroDivisionError")},
        {"value", schema("string", "division by zero")},
        {"traceback", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}};
}

}  // namespace

const std::vector<ResultField>& result_fields() {
  static const auto* fields = new std::vector<ResultField>{
      {"status",
       {{"type", "string"},
        {"enum", {"success", "error", "timeout", "memory_exceeded"}},
        {"description", "How the run ended"}},
       [](const RunResult& r) { return ordered_json(outcome_status(r.outcome)); }},
      {"stdout", schema("string", "Standard output, capped at limits.max_output_bytes"),
       [](const RunResult& r) { return text(r.stdout_text); }},
      {"stderr", schema("string", "Standard error (tracebacks included), capped likewise"),
       [](const RunResult& r) { return text(r.stderr_text); }},
      {"execution_time", schema("number", "Seconds of wall time of the user code"),
       [](const RunResult& r) { return ordered_json(std::round(r.execution_time * 1e4) / 1e4); }},
      {"memory_used", schema("number", "Peak memory of the run in MB"),
       [](const RunResult& r) { return ordered_json(std::round(r.memory_used_mb * 100) / 100); }},
      {"error", nullable(schema("string", "One-line reason for anything but success")),
       [](const RunResult& r) { return r.error ? text(*r.error) : ordered_json(nullptr); }},
      {"exit_code",
       nullable(schema("integer", "The program's exit code; negative: killed by that signal")),
       [](const RunResult& r) { return r.exit_code ? ordered_json(*r.exit_code) : nullptr; }},
      {"truncated", schema("boolean", "stdout, stderr or results were cut at their caps"),
       [](const RunResult& r) { return ordered_json(r.truncated); }},
      {"results",
       {{"type", "array"},
        {"description",
         "What the code displayed, in order: display(obj), figures, and the value "
         "of the last expression (execute_result), as Jupyter MIME bundles"},
        {"items", bundle_schema()}},
       [](const RunResult& r) { return r.results; }},
      {"files",
       {{"type", "array"},
        {"description", "Regular files of the working directory the run created or changed"},
        {"items", file_schema()}},
       [](const RunResult& r) { return r.files; }},
      {"files_truncated",
       schema("boolean", "More files than limits.max_files: only the first ones"),
       [](const RunResult& r) { return ordered_json(r.files_truncated); }},
      {"exception", exception_schema(),
       [](const RunResult& r) {
         return r.exception.is_null() ? ordered_json(nullptr) : r.exception;
       }},
  };
  return *fields;
}

ordered_json result_json(const RunResult& r) {
  ordered_json j = ordered_json::object();
  for (const auto& field : result_fields()) j[field.name] = field.encode(r);
  return j;
}

std::string result_to_json(const RunResult& r) {
  return result_json(r).dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

ordered_json result_schema() {
  ordered_json properties = ordered_json::object();
  ordered_json required = ordered_json::array();
  for (const auto& field : result_fields()) {
    properties[field.name] = field.schema;
    required.push_back(field.name);
  }
  return {{"type", "object"}, {"required", required}, {"properties", properties}};
}

}  // namespace pyrunner
