#pragma once
/// What a run becomes as an MCP tool result (CallToolResult): content a model reads, and the
/// result contract itself as structuredContent for programs.

#include <nlohmann/json.hpp>
#include <string>

#include "core/model/result.h"

namespace pyrunner::mcp {

/// What the session did around a run, said along with its output.
struct RunNotes {
  int execution_count = 0;
  std::string session_ended;   // this run ended the session, and why
  std::string previous_ended;  // the run had to start a new session: why the old one ended
};

/// The CallToolResult of a run, content in this order: a note on a new session; "stdout:",
/// each displayed item (image content for PNG, JPEG, GIF and WebP images such as figures,
/// else its text/plain; "Out[n]:" for the last expression's value), "stderr:" (without the
/// traceback), "exception:" (the traceback), one line for a timeout or memory_exceeded, notes
/// on truncation, changed files and an ended session; "(no output)" when there is nothing.
/// isError unless the run succeeded. With `structured`, structuredContent is the result object
/// of POST /sessions/{id}/run, less what content carries as images (binary data of displayed
/// items) and the files' bytes (content null, "omitted": "read_file").
nlohmann::ordered_json run_result_content(const RunResult& result, const RunNotes& notes,
                                          bool structured);

/// outputSchema for run_python: the result object's schema (core/model/result.h) as JSON
/// Schema (OpenAPI's `nullable` turned into a "null" type).
nlohmann::ordered_json run_output_schema();

/// A tool execution error: one text item, isError true.
nlohmann::ordered_json tool_error(const std::string& text);

/// A CallToolResult of one text item.
nlohmann::ordered_json tool_text(const std::string& text);

/// read_file's result: text content for UTF-8 text, image content for PNG, JPEG, GIF and WebP,
/// an embedded resource with a base64 blob for any other bytes.
nlohmann::ordered_json file_result_content(const std::string& path, const std::string& mime,
                                           const std::string& bytes);

}  // namespace pyrunner::mcp
