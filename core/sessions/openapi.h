#pragma once
// The OpenAPI entries of sessions: /sessions, /sessions/{id}, /sessions/{id}/run,
// /sessions/{id}/files[/{path}].

#include <nlohmann/json.hpp>

#include "core/config/config.h"

namespace pyrunner::sessions {

/// Adds the paths and schemas to `doc`, which already has RunRequest, RunResult and Error.
void add_openapi(nlohmann::ordered_json& doc, const Config& config);

}  // namespace pyrunner::sessions
