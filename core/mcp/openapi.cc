#include "core/mcp/openapi.h"

#include "core/mcp/protocol.h"

namespace pyrunner::mcp {
namespace {

using nlohmann::ordered_json;

ordered_json rpc_content() {
  return {{"application/json", {{"schema", {{"$ref", "#/components/schemas/JsonRpcMessage"}}}}}};
}

ordered_json rpc_error(const char* description) {
  return {{"description", description}, {"content", rpc_content()}};
}

ordered_json session_header(bool required) {
  return {{"name", "Mcp-Session-Id"},
          {"in", "header"},
          {"required", required},
          {"description", "The session initialize made (its answer's Mcp-Session-Id header)"},
          {"schema", {{"type", "string"}}}};
}

}  // namespace

void add_openapi(ordered_json& doc, const Config& config) {
  std::string versions;
  for (const auto& v : supported_versions()) versions += (versions.empty() ? "" : ", ") + v;
  doc["components"]["schemas"]["JsonRpcMessage"] = {
      {"type", "object"},
      {"description",
       "A JSON-RPC 2.0 message of the Model Context Protocol (protocol versions " + versions +
           "): a request {jsonrpc, id, method, params}, a notification (no id), or a response. "
           "Methods: initialize, ping, tools/list, tools/call (run_python, reset, list_files, "
           "read_file); notifications/initialized, notifications/cancelled. A batch (an array) "
           "only with 2025-03-26."},
      {"required", {"jsonrpc"}},
      {"properties",
       {{"jsonrpc", {{"type", "string"}, {"enum", {"2.0"}}}},
        {"id", {{"description", "A string or an integer"}}},
        {"method", {{"type", "string"}}},
        {"params", {{"type", "object"}}},
        {"result", {{"type", "object"}}},
        {"error",
         {{"type", "object"},
          {"properties",
           {{"code",
             {{"type", "integer"},
              {"description",
               "-32700 not JSON, -32600 invalid request, -32601 unknown method, -32602 invalid "
               "params or unknown tool, -32603 internal"}}},
            {"message", {{"type", "string"}}}}}}}}},
      {"additionalProperties", true}};
  auto& path = doc["paths"]["/mcp"];
  path["post"] = {
      {"summary", "MCP (Model Context Protocol) over streamable HTTP"},
      {"description",
       "One JSON-RPC message per request; a request is answered with one JSON object (never "
       "SSE). initialize, sent without Mcp-Session-Id, opens a session (at most " +
           std::to_string(config.sessions.max_sessions) +
           " open, sessions.max_sessions; ended after " +
           std::to_string(config.sessions.idle_timeout) +
           " s without a request, sessions.idle_timeout, or by DELETE) whose id the answer's "
           "Mcp-Session-Id header carries; every later request names it. The session's Python "
           "state lives in one sandboxed session, made at its first run_python."},
      {"parameters",
       {session_header(false),
        {{"name", "MCP-Protocol-Version"},
         {"in", "header"},
         {"required", false},
         {"schema", {{"type", "string"}, {"enum", supported_versions()}}}}}},
      {"requestBody", {{"required", true}, {"content", rpc_content()}}},
      {"responses",
       {{"200",
         {{"description", "The JSON-RPC answer (a result or an error)"},
          {"headers",
           {{"Mcp-Session-Id",
             {{"schema", {{"type", "string"}}},
              {"description", "On initialize's answer: the new session"}}}}},
          {"content", rpc_content()}}},
        {"202", {{"description", "A notification or a response: accepted, nothing to answer"}}},
        {"400", rpc_error("Not JSON, no Mcp-Session-Id on a request other than initialize, or an "
                          "unsupported MCP-Protocol-Version")},
        {"403", rpc_error("The Origin header names an origin server.cors_origins does not allow")},
        {"404", rpc_error("No such MCP session (it ended, expired or never existed)")},
        {"406", rpc_error("Accept excludes application/json")},
        {"413",
         {{"description", "The body is larger than server.max_body_bytes"},
          {"content",
           {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}},
        {"429",
         {{"description", "sessions.max_sessions MCP sessions are open"},
          {"headers",
           {{"Retry-After",
             {{"schema", {{"type", "integer"}}},
              {"description", "Seconds to wait before retrying"}}}}},
          {"content", rpc_content()}}}}}};
  path["get"] = {
      {"summary", "Server-initiated messages (an SSE stream): not offered"},
      {"responses",
       {{"405",
         {{"description", "This server sends no messages of its own; POST is the transport"},
          {"content",
           {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}}}};
  path["delete"] = {
      {"summary", "End an MCP session (and its Python session)"},
      {"parameters", {session_header(true)}},
      {"responses",
       {{"204", {{"description", "Ended; a run in progress was killed"}}},
        {"400", rpc_error("No Mcp-Session-Id header")},
        {"403", rpc_error("The Origin header names an origin server.cors_origins does not allow")},
        {"404", rpc_error("No such MCP session")}}}};
}

}  // namespace pyrunner::mcp
