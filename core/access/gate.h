#pragma once
/// The one check in front of every route but the open ones (GET /, GET /openapi.json, the
/// playground's page):
/// core/http/server.cc calls it for each request before the route's handler, when the server
/// has API keys. It finds the caller's key and takes a request from its rate.

#include "core/access/keys.h"
#include "core/http/metrics.h"
#include "core/http/route.h"

namespace pyrunner {

/// True: `req.key` is the caller, go on. False: `res` holds the answer (401 with
/// WWW-Authenticate for a missing or unknown key, 429 with Retry-After over the key's
/// requests_per_minute), in the error shape of the API the path belongs to.
bool admit_caller(const KeyRing& keys, HttpRequest& req, HttpResponse& res, Metrics& metrics);

/// 429 for a key at one of its limits: "key 1a2b3c4d: ...", the limit named, Retry-After.
void reply_over_limit(HttpResponse& res, const std::string& path, const std::string& detail,
                      int retry_after);

}  // namespace pyrunner
