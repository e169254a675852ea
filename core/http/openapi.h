#pragma once

#include <string>

#include "core/config/config.h"

namespace pyrunner {

/// The OpenAPI 3 document of the routes the server really has, with the config's limits.
/// `api_keys`: the server has keys; every operation but GET / and GET /openapi.json then
/// needs one (securitySchemes, 401) and is rate-limited by it (429).
std::string openapi_document(const Config& config, bool api_keys = false);

}  // namespace pyrunner
