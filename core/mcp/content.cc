#include "core/mcp/content.h"

#include <cctype>

#include "core/util/base64.h"
#include "core/util/utf8.h"

namespace pyrunner::mcp {
namespace {

using json = nlohmann::ordered_json;

// The image types MCP clients show (image content); other types stay text or a blob.
const char* const kImageTypes[] = {"image/png", "image/jpeg", "image/gif", "image/webp"};

json text_item(const std::string& text) { return {{"type", "text"}, {"text", text}}; }

json image_item(const std::string& base64, const std::string& mime) {
  return {{"type", "image"}, {"data", base64}, {"mimeType", mime}};
}

// stderr without the traceback the runner printed last (it comes as the exception's own item).
std::string stderr_without_traceback(std::string err, const json& exception) {
  if (!exception.is_object() || !exception.contains("traceback")) return err;
  std::string tb;
  for (const auto& line : exception["traceback"]) tb += line.get<std::string>() + "\n";
  const auto at = err.rfind(tb);
  if (at != std::string::npos && at + tb.size() == err.size()) err.erase(at);
  return err;
}

std::string size_text(long long bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  if (bytes < (1 << 20)) return std::to_string((bytes + 512) / 1024) + " KiB";
  return std::to_string((bytes + (1 << 19)) >> 20) + " MiB";
}

// The structured copy: the images and the files' bytes are left to content and read_file.
json structured(const RunResult& result, const RunNotes& notes) {
  json j = result_json(result);
  for (auto& item : j["results"]) {
    if (!item.is_object() || !item["data"].is_object()) continue;
    for (const char* mime : kImageTypes) item["data"].erase(mime);
  }
  for (auto& file : j["files"]) {
    if (!file["content"].is_null()) {
      file["content"] = nullptr;
      file["omitted"] = "read_file";
    }
  }
  j["execution_count"] = notes.execution_count;
  if (!notes.session_ended.empty()) j["session_ended"] = notes.session_ended;
  return j;
}

// OpenAPI 3.0's {"type": t, "nullable": true} is JSON Schema's {"type": [t, "null"]}.
json to_json_schema(json schema) {
  if (schema.is_object()) {
    if (schema.contains("nullable")) {
      if (schema["nullable"] == true && schema.contains("type"))
        schema["type"] = json::array({schema["type"], "null"});
      schema.erase("nullable");
    }
    for (auto& [key, value] : schema.items()) value = to_json_schema(value);
  } else if (schema.is_array()) {
    for (auto& value : schema) value = to_json_schema(value);
  }
  return schema;
}

// A file:// URI's path: everything but unreserved characters and '/' percent-encoded.
std::string uri_path(const std::string& path) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

json run_result_content(const RunResult& result, const RunNotes& notes, bool with_structured) {
  json content = json::array();
  if (!notes.previous_ended.empty())
    content.push_back(text_item("[a new session: the previous one ended (" + notes.previous_ended +
                                "); its variables, imports and files are gone]"));
  if (!result.stdout_text.empty())
    content.push_back(text_item("stdout:\n" + sanitize_utf8(result.stdout_text)));
  for (const auto& item : result.results) {
    const json& data = item.contains("data") ? item["data"] : json::object();
    bool shown = false;
    for (const char* mime : kImageTypes) {
      if (data.contains(mime) && data[mime].is_string()) {
        content.push_back(image_item(data[mime], mime));
        shown = true;
        break;
      }
    }
    if (shown || !data.contains("text/plain") || !data["text/plain"].is_string()) continue;
    const std::string text = data["text/plain"];
    if (item.value("type", "") == "execute_result") {
      content.push_back(text_item("Out[" + std::to_string(notes.execution_count) + "]: " + text));
    } else {
      content.push_back(text_item(text));
    }
  }
  const std::string err =
      stderr_without_traceback(sanitize_utf8(result.stderr_text), result.exception);
  if (!err.empty()) content.push_back(text_item("stderr:\n" + err));
  if (result.exception.is_object()) {
    std::string tb;
    for (const auto& line : result.exception["traceback"]) tb += line.get<std::string>() + "\n";
    content.push_back(text_item("exception:\n" + tb));
  }
  if (result.outcome == Outcome::kTimeout) {
    content.push_back(text_item(
        "timeout: " + result.error.value_or("") +
        (notes.session_ended.empty() ? " (interrupted; the session's variables are kept)" : "")));
  } else if (result.outcome == Outcome::kMemoryExceeded) {
    content.push_back(text_item("memory_exceeded: " + result.error.value_or("")));
  } else if (result.outcome == Outcome::kError && !result.exception.is_object() && result.error) {
    content.push_back(text_item("error: " + *result.error));
  }
  if (result.truncated)
    content.push_back(text_item(
        "[truncated: output past the caps (stdout and stderr each, and displayed items) was cut]"));
  if (!result.files.empty()) {
    std::string listing = "files created or changed (read them with read_file):";
    for (const auto& file : result.files)
      listing += "\n  " + file.value("path", "") + " (" + size_text(file.value("size", 0LL)) +
                 ", " + file.value("mime", "") + ")";
    if (result.files_truncated) listing += "\n  ... and more (list_files lists them all)";
    content.push_back(text_item(listing));
  }
  if (!notes.session_ended.empty())
    content.push_back(text_item("[the session ended: " + notes.session_ended +
                                ". The next run_python starts a new one: variables, imports and "
                                "files are gone]"));
  if (content.empty()) content.push_back(text_item("(no output)"));
  json out = {{"content", content}, {"isError", result.outcome != Outcome::kSuccess}};
  if (with_structured) out["structuredContent"] = structured(result, notes);
  return out;
}

json run_output_schema() {
  json schema = to_json_schema(result_schema());
  schema["properties"]["execution_count"] = {
      {"type", "integer"}, {"description", "This run's number in the session, from 1"}};
  schema["properties"]["session_ended"] = {
      {"type", "string"}, {"description", "Present when this run ended the session: why"}};
  return schema;
}

json tool_error(const std::string& text) {
  return {{"content", json::array({text_item(text)})}, {"isError", true}};
}

json tool_text(const std::string& text) {
  return {{"content", json::array({text_item(text)})}, {"isError", false}};
}

json file_result_content(const std::string& path, const std::string& mime,
                         const std::string& bytes) {
  for (const char* image : kImageTypes) {
    if (mime == image)
      return {{"content", json::array({image_item(base64_encode(bytes), mime)})},
              {"isError", false}};
  }
  if (is_valid_utf8(bytes) && bytes.find('\0') == std::string::npos) return tool_text(bytes);
  json resource = {{"uri", "file:///home/user/" + uri_path(path)},
                   {"mimeType", mime},
                   {"blob", base64_encode(bytes)}};
  return {{"content", json::array({{{"type", "resource"}, {"resource", resource}}})},
          {"isError", false}};
}

}  // namespace pyrunner::mcp
