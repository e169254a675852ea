#include "core/sessions/openapi.h"

#include "core/http/openapi_parts.h"

namespace pyrunner::sessions {
namespace {

using nlohmann::ordered_json;
using openapi::answer;
using openapi::error_answer;
using openapi::overload_answer;
using openapi::ref;

ordered_json id_parameter() {
  return {{"name", "id"},
          {"in", "path"},
          {"required", true},
          {"schema", {{"type", "string"}}},
          {"description", "<replica>-<32 hex digits>, from POST /sessions"}};
}

}  // namespace

void add_openapi(ordered_json& doc, const Config& config) {
  const auto& l = config.limits;
  const auto& sc = config.sessions;
  auto& schemas = doc["components"]["schemas"];
  schemas["SessionRequest"] = {
      {"type", "object"},
      {"properties",
       {{"memory_limit",
         {{"type", "integer"},
          {"minimum", l.min_memory_mb},
          {"maximum", l.max_memory_mb},
          {"default", sc.default_memory_mb},
          {"description", "MB, for the whole session (every run shares it)"}}},
        {"idle_timeout",
         {{"type", "integer"},
          {"minimum", 1},
          {"maximum", sc.idle_timeout},
          {"default", sc.idle_timeout},
          {"description", "Seconds without a run before the session ends"}}},
        {"files", schemas["RunRequest"]["properties"]["files"]}}}};
  schemas["Session"] = {
      {"type", "object"},
      {"properties",
       {{"id", {{"type", "string"}}},
        {"status", {{"type", "string"}, {"enum", {"idle", "busy"}}}},
        {"execution_count", {{"type", "integer"}, {"description", "Runs so far"}}},
        {"memory_used", {{"type", "number"}, {"description", "MB charged to the session now"}}},
        {"memory_limit", {{"type", "integer"}, {"description", "MB"}}},
        {"idle_timeout", {{"type", "integer"}, {"description", "Seconds"}}},
        {"created_at", {{"type", "string"}, {"format", "date-time"}}},
        {"last_used_at", {{"type", "string"}, {"format", "date-time"}}},
        {"expires_at",
         {{"type", "string"},
          {"format", "date-time"},
          {"description",
           "When it ends unless used: the idle timeout, or sessions.max_lifetime"}}}}}};
  ordered_json run_request = schemas["RunRequest"];
  run_request["properties"].erase("memory_limit");
  run_request["description"] = "A run request; the memory limit is the session's";
  schemas["SessionRunRequest"] = run_request;
  schemas["SessionRunResult"] = {
      {"allOf",
       {ref("RunResult"),
        {{"type", "object"},
         {"properties",
          {{"execution_count", {{"type", "integer"}, {"description", "This run's number, from 1"}}},
           {"session_ended",
            {{"type", "string"},
             {"description",
              "Present when this run ended the session (its code did not stop within "
              "sessions.interrupt_grace after the timeout, the OOM killer, the interpreter "
              "exited): why"}}}}}}}}};

  auto& paths = doc["paths"];
  paths["/sessions"]["post"] = {
      {"summary", "Start a session: one sandboxed interpreter whose state persists across runs"},
      {"requestBody",
       {{"required", false},
        {"content", {{"application/json", {{"schema", ref("SessionRequest")}}}}}}},
      {"responses",
       {{"201", answer("The session", ref("Session"))},
        {"400", error_answer("The body is not JSON")},
        {"422", error_answer("A field is out of range or a file is invalid (the detail names it)")},
        {"429", overload_answer("sessions.max_sessions are open")}}}};
  paths["/sessions"]["get"] = {
      {"summary", "The open sessions"},
      {"responses",
       {{"200", answer("Every open session",
                       {{"type", "object"},
                        {"properties",
                         {{"sessions", {{"type", "array"}, {"items", ref("Session")}}}}}})}}}};
  const auto with_id = [](ordered_json operation) {
    operation["parameters"] = ordered_json::array({id_parameter()});
    return operation;
  };
  paths["/sessions/{id}"]["get"] =
      with_id({{"summary", "A session's state"},
               {"responses",
                {{"200", answer("The session", ref("Session"))},
                 {"404", error_answer("No such session on this server")},
                 {"410", error_answer("The session has ended; the detail says why")}}}});
  paths["/sessions/{id}"]["delete"] =
      with_id({{"summary", "End a session now (a run in progress ends with it)"},
               {"responses",
                {{"204", {{"description", "Ended; everything it used is freed"}}},
                 {"404", error_answer("No such session on this server")},
                 {"410", error_answer("The session had already ended")}}}});
  paths["/sessions/{id}/run"]["post"] = with_id(
      {{"summary", "Run code in the session"},
       {"requestBody",
        {{"required", true},
         {"content", {{"application/json", {{"schema", ref("SessionRunRequest")}}}}}}},
       {"responses",
        {{"200", answer("The run happened; a timeout interrupted it (KeyboardInterrupt) and kept "
                        "the state unless session_ended says otherwise",
                        ref("SessionRunResult"))},
         {"400", error_answer("The body is not JSON")},
         {"404", error_answer("No such session on this server")},
         {"409", error_answer("A run is in progress in this session: one at a time")},
         {"410", error_answer("The session has ended; the detail says why")},
         {"422", error_answer("A field is missing, of the wrong type or out of range")}}}});
  paths["/sessions/{id}/interrupt"]["post"] = with_id(
      {{"summary",
        "Interrupt the run in progress, as its timeout would: a KeyboardInterrupt in the code, "
        "the state kept"},
       {"description",
        "No body. The interrupted run answers (or its stream ends with) a result whose status is "
        "\"error\", error \"Interrupted by the client\" and exception the KeyboardInterrupt. "
        "Code that does not stop within sessions.interrupt_grace is killed and the session ends "
        "(that run's session_ended, then 410)."},
       {"responses",
        {{"200", answer("Whether a run was in progress (false: the session was idle, nothing "
                        "happened)",
                        {{"type", "object"},
                         {"required", {"interrupted"}},
                         {"properties", {{"interrupted", {{"type", "boolean"}}}}}})},
         {"404", error_answer("No such session on this server")},
         {"410", error_answer("The session has ended; the detail says why")}}}});
  paths["/sessions/{id}/files"]["get"] =
      with_id({{"summary", "The regular files of the session's working directory"},
               {"responses",
                {{"200", answer("Sorted by path", {{"type", "object"},
                                                   {"properties",
                                                    {{"files",
                                                      {{"type", "array"},
                                                       {"items",
                                                        {{"type", "object"},
                                                         {"properties",
                                                          {{"path", {{"type", "string"}}},
                                                           {"size", {{"type", "integer"}}},
                                                           {"mime", {{"type", "string"}}}}}}}}},
                                                     {"truncated", {{"type", "boolean"}}}}}})},
                 {"404", error_answer("No such session on this server")},
                 {"410", error_answer("The session has ended")}}}});
  ordered_json file_op = with_id(
      {{"summary", "A file of the session's working directory, as bytes"},
       {"responses",
        {{"200",
          {{"description", "The file; Content-Type from its name"},
           {"content",
            {{"application/octet-stream",
              {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}}},
         {"404", error_answer("No such session, or no such file")},
         {"410", error_answer("The session has ended")},
         {"422", error_answer("The path is not relative, has '..', or names a link, a directory or "
                              "anything but a regular file (links are never followed)")}}}});
  file_op["parameters"].push_back({{"name", "path"},
                                   {"in", "path"},
                                   {"required", true},
                                   {"schema", {{"type", "string"}}},
                                   {"description", "Relative to the working directory"}});
  paths["/sessions/{id}/files/{path}"]["get"] = file_op;
}

}  // namespace pyrunner::sessions
