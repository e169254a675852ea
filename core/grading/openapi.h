#pragma once
// The OpenAPI entries of grading: POST /grade, POST /batch, and what grading adds to POST /run
// (expected_output, compare, tolerance in; verdict, diff out).

#include <nlohmann/json.hpp>

#include "core/config/config.h"

namespace pyrunner::grading {

/// Adds the paths and schemas to `doc`, which already has /run's (RunRequest, RunResult).
void add_openapi(nlohmann::ordered_json& doc, const Config& config);

}  // namespace pyrunner::grading
