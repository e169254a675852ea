#pragma once
/// The streamed answers in the OpenAPI document: the event schemas, and the two media types
/// POST /run and POST /sessions/{id}/run also answer 200 with.

#include <nlohmann/json.hpp>

namespace pyrunner::streaming {

/// Adds RunStreamEvent and SessionRunStreamEvent, and the application/x-ndjson and
/// text/event-stream answers of the two run routes (already in `doc`).
void add_openapi(nlohmann::ordered_json& doc);

}  // namespace pyrunner::streaming
