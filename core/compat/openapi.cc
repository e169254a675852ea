#include "core/compat/openapi.h"

#include "core/compat/judge0.h"
#include "core/http/openapi_parts.h"

namespace pyrunner::compat {
namespace {

using nlohmann::ordered_json;
using openapi::answer;
using openapi::ref;
using openapi::retry_answer;

ordered_json body(const char* description, const ordered_json& schema) {
  return {{"required", true},
          {"description", description},
          {"content", {{"application/json", {{"schema", schema}}}}}};
}

ordered_json query(const char* name, const char* description) {
  return {{"name", name},
          {"in", "query"},
          {"required", false},
          {"description", description},
          {"schema", {{"type", "string"}}}};
}

ordered_json path(const char* name) {
  return {{"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}};
}

ordered_json typed(const char* type, const char* description) {
  return {{"type", type}, {"description", description}};
}

// What a submission may hold, as Judge0 reads it (README "Coming from Judge0 / Piston" maps
// each onto pyrunner's request).
ordered_json judge0_request_schema() {
  ordered_json p = ordered_json::object();
  p["source_code"] = typed("string", "The program (Python 3); base64 with base64_encoded=true");
  p["language_id"] = typed("integer", "71 (Python) or 10 (Python for ML): this server's Python");
  p["stdin"] = typed("string", "Standard input; base64 with base64_encoded=true");
  p["expected_output"] =
      typed("string", "Compared with Judge0's rule: Accepted (3) or Wrong Answer (4)");
  p["cpu_time_limit"] = typed("number", "Seconds; with cpu_extra_time, bounds the wall time");
  p["cpu_extra_time"] = typed("number", "Seconds");
  p["wall_time_limit"] = typed("number", "Seconds");
  p["memory_limit"] = typed("integer", "KB, within the server's memory limits");
  p["max_file_size"] = typed("integer", "KB, for every file the run writes");
  p["number_of_runs"] = typed("integer", "1 to 20; time and memory are averaged");
  p["redirect_stderr_to_stdout"] = typed("boolean", "stderr after stdout");
  p["command_line_arguments"] = typed("string", "Words for sys.argv[1:], at most 512 characters");
  p["additional_files"] =
      typed("string", "A base64 zip unpacked into the working directory (no links, no '..')");
  p["enable_network"] = typed("boolean", "true is refused (422): runs have no network");
  p["callback_url"] = typed("string", "Refused when set (422): the server calls no URL");
  for (const char* ignored : {"stack_limit", "max_processes_and_or_threads"})
    p[ignored] = typed("integer", "Accepted within Judge0's range, not used");
  for (const char* ignored :
       {"enable_per_process_and_thread_time_limit", "enable_per_process_and_thread_memory_limit"})
    p[ignored] = typed("boolean", "Accepted, not used");
  return {{"type", "object"}, {"required", {"source_code", "language_id"}}, {"properties", p}};
}

ordered_json piston_request_schema() {
  ordered_json file = {{"type", "object"},
                       {"required", {"content"}},
                       {"properties",
                        {{"name", typed("string", "File name (default file<i>.code)")},
                         {"content", typed("string", "The content in its encoding")},
                         {"encoding", {{"type", "string"}, {"enum", {"utf8", "base64", "hex"}}}}}}};
  ordered_json p = ordered_json::object();
  p["language"] = typed("string", "python, py or python3");
  p["version"] = typed("string", "A semver range this server's Python satisfies (3, 3.x, *)");
  p["files"] = {{"type", "array"},
                {"items", file},
                {"description", "The first utf8 file is run; all are written beside it"}};
  p["stdin"] = typed("string", "Standard input (a newline is added when it has none)");
  p["args"] = {{"type", "array"}, {"items", {{"type", "string"}}}, {"description", "sys.argv[1:]"}};
  p["run_timeout"] = typed("number", "Milliseconds (default 3000), rounded up to seconds");
  p["run_memory_limit"] = typed("number", "Bytes; -1 or absent: the server's default");
  for (const char* ignored :
       {"compile_timeout", "compile_memory_limit", "run_cpu_time", "compile_cpu_time"})
    p[ignored] = typed("number", "Checked as Piston checks it, not used (no compile stage)");
  return {{"type", "object"}, {"required", {"language", "version", "files"}}, {"properties", p}};
}

ordered_json piston_result_schema() {
  const ordered_json nullable_string = {{"type", "string"}, {"nullable", true}};
  ordered_json run = {{"type", "object"},
                      {"properties",
                       {{"stdout", {{"type", "string"}}},
                        {"stderr", {{"type", "string"}}},
                        {"output", typed("string", "stdout, then stderr")},
                        {"code", {{"type", "integer"}, {"nullable", true}}},
                        {"signal", nullable_string},
                        {"message", nullable_string},
                        {"status",
                         {{"type", "string"},
                          {"nullable", true},
                          {"enum", {"RE", "SG", "TO", "OL", "EL", nullptr}},
                          {"description", "null on success"}}},
                        {"cpu_time", typed("integer", "Milliseconds")},
                        {"wall_time", typed("integer", "Milliseconds")},
                        {"memory", typed("integer", "Bytes")}}}};
  return {{"type", "object"},
          {"properties",
           {{"language", {{"type", "string"}}}, {"version", {{"type", "string"}}}, {"run", run}}}};
}

}  // namespace

void add_openapi(ordered_json& doc, const Config& config) {
  auto& paths = doc["paths"];
  auto& schemas = doc["components"]["schemas"];
  const ordered_json error = {{"type", "object"},
                              {"properties", {{"error", {{"type", "string"}}}}},
                              {"description", "Judge0's error shape"}};
  const ordered_json field_errors = {
      {"type", "object"},
      {"additionalProperties", {{"type", "array"}, {"items", {{"type", "string"}}}}},
      {"description", "Judge0's validation errors: {field: [messages]}"}};
  if (config.compat.judge0_enabled) {
    schemas["Judge0Submission"] = judge0_request_schema();
    schemas["Judge0SubmissionResult"] = judge0_submission_schema();
    schemas["Judge0Error"] = error;
    schemas["Judge0FieldErrors"] = field_errors;
    const ordered_json common = {
        query("base64_encoded", "true: text fields in and out are base64 (Judge0's)"),
        query("fields", "Comma-separated fields, or *; default: Judge0's eight")};
    auto with_wait = common;
    with_wait.push_back(query("wait", "true: answer with the result (else the token at once)"));
    const auto result = ref("Judge0SubmissionResult");
    const auto j0_error = ref("Judge0Error");
    paths["/submissions"]["post"] = {
        {"summary", "Judge0: create a submission (Python: language_id 71 or 10)"},
        {"parameters", with_wait},
        {"requestBody", body("Judge0's submission fields", ref("Judge0Submission"))},
        {"responses",
         {{"201", answer("{token}, or with wait=true the submission's fields", result)},
          {"400",
           answer("{error}: an unknown field in fields, or a body that is not JSON", j0_error)},
          {"413", answer("{error}: the body is larger than server.max_body_bytes", j0_error)},
          {"422", answer("{field: [messages]}, as Judge0 validates", ref("Judge0FieldErrors"))},
          {"429", retry_answer("{error}: wait=true found every run slot busy and the queue full",
                               j0_error)},
          {"503", retry_answer("{error}: the store is full of pending submissions "
                               "(compat.judge0.max_submissions), wait=true queued too long, "
                               "or the server is shutting down",
                               j0_error)}}}};
    paths["/submissions/{token}"]["get"] = {
        {"summary", "Judge0: get a submission"},
        {"parameters", ordered_json::array({path("token"), common[0], common[1]})},
        {"responses",
         {{"200", answer("The submission's fields", result)},
          {"400", answer("{error}: an unknown field, or output that is not UTF-8 without "
                         "base64_encoded=true",
                         j0_error)},
          {"404",
           answer("No such token (or its result expired: compat.judge0.result_ttl)", j0_error)}}}};
    paths["/submissions/batch"]["post"] = {
        {"summary", "Judge0: create submissions (no wait)"},
        {"parameters", ordered_json::array({common[0]})},
        {"requestBody",
         body("{submissions: [...]}, at most server.max_batch",
              {{"type", "object"},
               {"properties",
                {{"submissions", {{"type", "array"}, {"items", ref("Judge0Submission")}}}}}})},
        {"responses",
         {{"201", answer("[{token} | {field: [messages]}] in order", {{"type", "array"}})},
          {"400",
           answer("{error}: no submissions, more than server.max_batch, or not JSON", j0_error)},
          {"413", answer("{error}: the body is larger than server.max_body_bytes", j0_error)},
          {"422", answer("Every submission was invalid: [{field: [messages]}]",
                         {{"type", "array"}, {"items", ref("Judge0FieldErrors")}})},
          {"503", retry_answer("{error}: the store is full of pending submissions", j0_error)}}}};
    auto batch_get = common;
    batch_get.push_back(query("tokens", "Comma-separated tokens"));
    paths["/submissions/batch"]["get"] = {
        {"summary", "Judge0: get submissions by tokens"},
        {"parameters", batch_get},
        {"responses",
         {{"200",
           answer("{submissions: [fields | null]}",
                  {{"type", "object"},
                   {"properties", {{"submissions", {{"type", "array"}, {"items", result}}}}}})},
          {"400", answer("{error}: no tokens, more than server.max_batch, or an unknown field",
                         j0_error)}}}};
    const ordered_json languages = {{"type", "array"}, {"items", {{"type", "object"}}}};
    paths["/languages"]["get"] = {{"summary", "Judge0: the languages (Python 3 only)"},
                                  {"responses", {{"200", answer("[{id, name}]", languages)}}}};
    paths["/languages/all"]["get"] = {
        {"summary", "Judge0: the languages with is_archived, by name"},
        {"responses", {{"200", answer("[{id, name, is_archived}]", languages)}}}};
    paths["/languages/{id}"]["get"] = {
        {"summary", "Judge0: one language"},
        {"parameters", ordered_json::array({path("id")})},
        {"responses",
         {{"200", answer("{id, name, is_archived, source_file, compile_cmd, run_cmd}",
                         {{"type", "object"}})},
          {"404", answer("No such language: {error, status}", j0_error)}}}};
    paths["/statuses"]["get"] = {
        {"summary", "Judge0: the statuses"},
        {"responses", {{"200", answer("[{id, description}], ids 1 to 14", languages)}}}};
  }
  if (config.compat.piston_enabled) {
    schemas["PistonExecute"] = piston_request_schema();
    schemas["PistonResult"] = piston_result_schema();
    schemas["PistonError"] = {{"type", "object"},
                              {"properties", {{"message", {{"type", "string"}}}}},
                              {"description", "Piston's error shape"}};
    const auto p_error = ref("PistonError");
    paths["/api/v2/runtimes"]["get"] = {
        {"summary", "Piston: the runtimes (python)"},
        {"responses",
         {{"200", answer("[{language, version, aliases}]",
                         {{"type", "array"}, {"items", {{"type", "object"}}}})}}}};
    paths["/api/v2/execute"]["post"] = {
        {"summary", "Piston: run files"},
        {"requestBody", body("Piston's execute request (the body is JSON whatever its type)",
                             ref("PistonExecute"))},
        {"responses",
         {{"200", answer("The run stage (no compile stage for Python)", ref("PistonResult"))},
          {"400", answer("{message}: as Piston answers a bad request", p_error)},
          {"413", answer("{message}: the body is larger than server.max_body_bytes", p_error)},
          {"429", retry_answer("{message}: every run slot busy and the queue full", p_error)},
          {"503", retry_answer("{message}: queued too long, or shutting down", p_error)}}}};
  }
}

}  // namespace pyrunner::compat
