#pragma once
// The OpenAPI entries of MCP's streamable HTTP transport: POST, GET and DELETE /mcp.

#include <nlohmann/json.hpp>

#include "core/config/config.h"

namespace pyrunner::mcp {

/// Adds /mcp and its schemas to `doc`.
void add_openapi(nlohmann::ordered_json& doc, const Config& config);

}  // namespace pyrunner::mcp
