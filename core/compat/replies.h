#pragma once
/// The answers the drop-in APIs share: a run that did not happen (overload, shutdown) with
/// pyrunner's status codes and Retry-After, in the original service's error shape.

#include <string>

#include "core/http/route.h"
#include "core/http/run_service.h"

namespace pyrunner::compat {

/// As reply_abort, with the reason under `key` ("error" for Judge0, "message" for Piston)
/// instead of "detail".
void reply_abort_as(const char* key, const RunOutcome& outcome, HttpResponse& res);

/// The key of the error body a path's API answers with: "error" under Judge0's routes,
/// "message" under Piston's, else pyrunner's "detail". For the answers given before a route's
/// handler runs (a body over server.max_body_bytes: 413).
const char* error_key_for_path(const std::string& path);

/// Whether a run refused for load (queue full, waited too long, or its key at its limit of
/// concurrent runs) may be tried again later.
bool overloaded(const RunOutcome& outcome);

}  // namespace pyrunner::compat
