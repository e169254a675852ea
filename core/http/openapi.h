#pragma once

#include <string>

#include "core/config/config.h"

namespace pyrunner {

/// The OpenAPI 3 document of the routes the server really has, with the config's limits.
std::string openapi_document(const Config& config);

}  // namespace pyrunner
