#include "core/streaming/openapi.h"

#include "core/http/openapi_parts.h"
#include "core/streaming/events.h"

namespace pyrunner::streaming {
namespace {

using json = nlohmann::ordered_json;
using openapi::ref;

// The 200 of `operation` gains the streamed media types. A stream has no schema of its own in
// OpenAPI 3.0: each is described by its event (OpenAPI 3.2 would call it itemSchema), one per
// NDJSON line or per SSE data field.
void add_streams(json& operation, const char* event_schema) {
  auto& ok = operation["responses"]["200"];
  ok["description"] = ok["description"].get<std::string>() +
                      ". With Accept: application/x-ndjson (one event per line) or "
                      "text/event-stream (\"event: <type>\" and \"data: <event>\", and "
                      "\": keep-alive\" comments while quiet), the run's events as they happen, "
                      "this answer last as the result event";
  ok["content"][kNdjsonType] = {{"schema", ref(event_schema)}};
  ok["content"][kSseType] = {{"schema", ref(event_schema)}};
}

}  // namespace

void add_openapi(json& doc) {
  auto& schemas = doc["components"]["schemas"];
  schemas["RunStreamEvent"] = event_schema(ref("RunResult"));
  schemas["SessionRunStreamEvent"] = event_schema(ref("SessionRunResult"));
  add_streams(doc["paths"]["/run"]["post"], "RunStreamEvent");
  add_streams(doc["paths"]["/sessions/{id}/run"]["post"], "SessionRunStreamEvent");
}

}  // namespace pyrunner::streaming
