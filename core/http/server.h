#pragma once
/// `pyrunner serve`: the HTTP API over the same validator and executor as `pyrunner run`.

#include <string>

#include "core/config/config.h"

namespace pyrunner {

/// Starts the pool and the server, blocks until SIGTERM/SIGINT, drains, cleans up. Returns the
/// process exit code.
int serve_forever(const Config& config);

}  // namespace pyrunner
