#pragma once
// The OpenAPI entries of the drop-in APIs (Judge0, Piston), when they are enabled.

#include <nlohmann/json.hpp>

#include "core/config/config.h"

namespace pyrunner::compat {

void add_openapi(nlohmann::ordered_json& doc, const Config& config);

}  // namespace pyrunner::compat
