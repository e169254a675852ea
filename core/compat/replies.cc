#include "core/compat/replies.h"

#include <nlohmann/json.hpp>
#include <string_view>

namespace pyrunner::compat {

void reply_abort_as(const char* key, const RunOutcome& outcome, HttpResponse& res) {
  reply_abort(outcome, res);  // the status and Retry-After, decided in one place
  auto body = nlohmann::json::parse(res.body, nullptr, false);
  if (body.is_object() && body.contains("detail"))
    res.body = nlohmann::json{{key, body["detail"]}}.dump(-1, ' ', false,
                                                          nlohmann::json::error_handler_t::replace);
}

const char* error_key_for_path(const std::string& path) {
  for (const char* judge0 : {"/submissions", "/languages", "/statuses"}) {
    const size_t n = std::string_view(judge0).size();
    if (path.compare(0, n, judge0) == 0 && (path.size() == n || path[n] == '/')) return "error";
  }
  if (path.rfind("/api/v2/", 0) == 0) return "message";
  return "detail";
}

bool overloaded(const RunOutcome& outcome) {
  return !outcome.ok() &&
         (outcome.abort() == RunAbort::kQueueFull || outcome.abort() == RunAbort::kQueueTimeout ||
          outcome.abort() == RunAbort::kOverLimit);
}

}  // namespace pyrunner::compat
