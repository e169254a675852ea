#include "core/access/gate.h"

#include <nlohmann/json.hpp>

#include "core/compat/replies.h"

namespace pyrunner {
namespace {

// {"detail": text} (or Judge0's "error", Piston's "message" under their paths).
void reply(HttpResponse& res, int status, const std::string& path, const std::string& text) {
  res.json(status, nlohmann::ordered_json{{compat::error_key_for_path(path), text}}.dump(
                       -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

}  // namespace

bool admit_caller(const KeyRing& keys, HttpRequest& req, HttpResponse& res, Metrics& metrics) {
  const std::string authorization = req.header("authorization");
  const std::string x_api_key = req.header("x-api-key");
  const std::string_view presented = presented_key(authorization, x_api_key);
  req.key = keys.find(presented);
  if (req.key == nullptr) {
    metrics.key_rejected("", "unauthorized");
    // The same answer for every wrong key: nothing tells a guess that is close from one that
    // is not, or a key that was revoked from one that never was.
    if (presented.empty()) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"pyrunner\"");
      reply(res, 401, req.path,
            "unauthorized: this server needs an API key (Authorization: Bearer <key>, or "
            "X-API-Key: <key>)");
    } else {
      res.set_header("WWW-Authenticate", "Bearer realm=\"pyrunner\", error=\"invalid_token\"");
      reply(res, 401, req.path, "unauthorized: the API key is not valid");
    }
    return false;
  }
  metrics.key_request(req.key->id());
  if (const int wait = req.key->take_request(); wait > 0) {
    metrics.key_rejected(req.key->id(), "requests_per_minute");
    reply_over_limit(res, req.path,
                     "key " + req.key->id() + ": over its limit of " +
                         std::to_string(req.key->limits().requests_per_minute) +
                         " requests per minute (requests_per_minute); retry in " +
                         std::to_string(wait) + " s",
                     wait);
    return false;
  }
  return true;
}

void reply_over_limit(HttpResponse& res, const std::string& path, const std::string& detail,
                      int retry_after) {
  reply(res, 429, path, detail);
  res.set_header("Retry-After", std::to_string(std::max(retry_after, 1)));
}

}  // namespace pyrunner
