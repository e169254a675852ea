#include "core/http/openapi.h"

#include <nlohmann/json.hpp>

#include "core/compat/openapi.h"
#include "core/grading/openapi.h"
#include "core/http/openapi_parts.h"
#include "core/mcp/openapi.h"
#include "core/model/result.h"
#include "core/sessions/openapi.h"
#include "core/streaming/openapi.h"
#include "version.h"

namespace pyrunner {

using nlohmann::ordered_json;
using openapi::error_answer;
using openapi::overload_answer;

namespace {

// The answers of a server with API keys: every operation but the open ones (GET /, GET
// /openapi.json, the playground's page and files) says how to authenticate and answers 401
// without a valid key and 429 over the key's limits, in the error shape of its own API
// (Judge0's and Piston's differ).
void add_security(ordered_json& doc, const Config& config) {
  doc["components"]["securitySchemes"] = {
      {"bearerAuth",
       {{"type", "http"},
        {"scheme", "bearer"},
        {"description", "Authorization: Bearer <API key>"}}},
      {"apiKeyHeader", {{"type", "apiKey"}, {"in", "header"}, {"name", "X-API-Key"}}}};
  doc["security"] = ordered_json::array(
      {{{"bearerAuth", ordered_json::array()}}, {{"apiKeyHeader", ordered_json::array()}}});
  const auto& k = config.server.key_limits;
  const std::string limits =
      "Over a limit of the API key: requests_per_minute (" + std::to_string(k.requests_per_minute) +
      " by default), concurrent_runs or sessions; the body names it, Retry-After says when a "
      "retry would pass";
  for (auto& [path, methods] : doc["paths"].items()) {
    for (auto& [method, op] : methods.items()) {
      if (method == "get" &&
          (path == "/" || path == "/openapi.json" || path.rfind("/playground", 0) == 0)) {
        // open: the probes have no key, nor has a browser loading the page
        op["security"] = ordered_json::array();
        continue;
      }
      auto& responses = op["responses"];
      // An operation documented only to say it is not offered (GET /mcp: 405) has no handler
      // to protect: its answer is the same with or without a key.
      if (responses.size() == 1 && responses.contains("405")) continue;
      ordered_json content = {
          {"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}};
      for (const auto& [code, response] : responses.items()) {
        if (code >= "400" && response.contains("content")) {
          content = response["content"];
          break;
        }
      }
      responses["401"] = {
          {"description", "No API key, or not a valid one"},
          {"headers",
           {{"WWW-Authenticate",
             {{"schema", {{"type", "string"}}}, {"description", "Bearer realm=\"pyrunner\""}}}}},
          {"content", content}};
      if (!responses.contains("429")) responses["429"] = ordered_json::object();
      auto& over = responses["429"];
      const std::string before = over.value("description", "");
      over["description"] = before.empty() ? limits : before + "; or: " + limits;
      if (!over.contains("content")) over["content"] = content;
      over["headers"]["Retry-After"] = {{"schema", {{"type", "integer"}}},
                                        {"description", "Seconds to wait before retrying"}};
    }
  }
}

}  // namespace

std::string openapi_document(const Config& config, bool api_keys) {
  const auto& l = config.limits;
  ordered_json doc;
  doc["openapi"] = "3.0.3";
  doc["info"] = {{"title", "pyrunner"},
                 {"version", kVersion},
                 {"description",
                  "Runs untrusted Python (numpy, sympy, pandas, matplotlib, scipy, scikit-learn) "
                  "in a kernel sandbox."}};
  ordered_json run_request = {{"type", "object"},
                              {"required", {"code"}},
                              {"properties",
                               {{"code",
                                 {{"type", "string"},
                                  {"minLength", 1},
                                  {"maxLength", l.max_code_bytes},
                                  {"description", "Python source (UTF-8)"}}},
                                {"timeout",
                                 {{"type", "integer"},
                                  {"minimum", 1},
                                  {"maximum", l.max_timeout},
                                  {"default", l.default_timeout},
                                  {"description", "Wall-clock limit in seconds"}}},
                                {"memory_limit",
                                 {{"type", "integer"},
                                  {"minimum", l.min_memory_mb},
                                  {"maximum", l.max_memory_mb},
                                  {"default", l.default_memory_mb},
                                  {"description", "Memory limit in MB"}}},
                                {"stdin",
                                 {{"type", "string"},
                                  {"maxLength", l.max_stdin_bytes},
                                  {"description", "Text the program reads on standard input"}}},
                                {"files",
                                 {{"type", "array"},
                                  {"maxItems", l.max_files},
                                  {"description",
                                   "Files written into the working directory (/home/user) "
                                   "before the code starts"},
                                  {"items", {{"$ref", "#/components/schemas/InputFile"}}}}}}}};
  ordered_json input_file = {
      {"type", "object"},
      {"required", {"path", "content"}},
      {"properties",
       {{"path",
         {{"type", "string"},
          {"description", "Relative, without '..', '.' or empty parts; unique; e.g. data/in.csv"}}},
        {"content", {{"type", "string"}, {"description", "The file's text, or base64"}}},
        {"encoding", {{"type", "string"}, {"enum", {"utf8", "base64"}}, {"default", "utf8"}}}}}};
  ordered_json run_result = result_schema();
  doc["components"]["schemas"] = {
      {"RunRequest", run_request},
      {"RunResult", run_result},
      {"InputFile", input_file},
      {"Error", {{"type", "object"}, {"properties", {{"detail", {{"type", "string"}}}}}}}};
  doc["paths"]["/run"]["post"] = {
      {"summary", "Run Python code in the sandbox"},
      {"requestBody",
       {{"required", true},
        {"content",
         {{"application/json", {{"schema", {{"$ref", "#/components/schemas/RunRequest"}}}}}}}}},
      {"responses",
       {{"200",
         {{"description", "The run happened; its outcome is in status"},
          {"content",
           {{"application/json", {{"schema", {{"$ref", "#/components/schemas/RunResult"}}}}}}}}},
        {"400", error_answer("The body is not JSON")},
        {"413", error_answer("The body is larger than server.max_body_bytes")},
        {"422", error_answer("A field is missing, of the wrong type or out of range")},
        {"429", overload_answer("Every run slot is busy and the queue is full")},
        {"503",
         overload_answer("Queued too long, shutting down, or the sandbox is unavailable")}}}};
  doc["paths"]["/"]["get"] = {
      {"summary", "Health and capabilities"},
      {"responses",
       {{"200",
         {{"description", "Service, version, limits, libraries, isolation layers, pool"},
          {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}}},
        {"503",
         {{"description", "Not able to run code now (the zygote is down)"},
          {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}}}}}};
  doc["paths"]["/openapi.json"]["get"] = {
      {"summary", "This document"},
      {"responses",
       {{"200",
         {{"description", "OpenAPI 3 document"},
          {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}}}}}};
  doc["paths"]["/metrics"]["get"] = {
      {"summary", "Prometheus metrics"},
      {"responses",
       {{"200",
         {{"description", "Prometheus text format"},
          {"content", {{"text/plain", {{"schema", {{"type", "string"}}}}}}}}}}}};
  if (config.server.playground_on()) {
    doc["paths"]["/playground"]["get"] = {
        {"summary", "The playground: a page that runs code through this API from a browser"},
        {"description",
         "Served when server.playground is on (by default: a loopback host). It calls the "
         "routes above and adds no capability of its own."},
        {"responses",
         {{"200",
           {{"description", "The page (HTML), with a Content-Security-Policy"},
            {"content", {{"text/html", {{"schema", {{"type", "string"}}}}}}}}}}}};
    doc["paths"]["/playground/{file}"]["get"] = {
        {"summary", "The playground's script and styles"},
        {"parameters",
         {{{"name", "file"},
           {"in", "path"},
           {"required", true},
           {"schema",
            {{"type", "string"}, {"enum", {"playground.js", "playground.css", "frame.css"}}}}}}},
        {"responses",
         {{"200",
           {{"description", "The file (JavaScript or CSS)"},
            {"content",
             {{"text/javascript", {{"schema", {{"type", "string"}}}}},
              {"text/css", {{"schema", {{"type", "string"}}}}}}}}}}}};
  }
  grading::add_openapi(doc, config);
  sessions::add_openapi(doc, config);
  streaming::add_openapi(doc);  // after the run routes it adds media types to
  compat::add_openapi(doc, config);
  mcp::add_openapi(doc, config);
  if (api_keys) add_security(doc, config);
  return doc.dump(2);
}

}  // namespace pyrunner
