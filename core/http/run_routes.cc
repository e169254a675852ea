// POST /run: validate, run through the run service, answer with the result.

#include <variant>

#include "core/http/services.h"
#include "core/model/result.h"

namespace pyrunner {

std::vector<Route> run_routes(Services& s) {
  Handler run = [&s](const HttpRequest& req, HttpResponse& res) {
    if (s.runs.draining()) return res.error(503, "server is shutting down", 1);
    auto parsed = s.validator.from_json(req.body);
    if (auto* error = std::get_if<ValidationError>(&parsed))
      return res.error(error->http_status, error->detail);
    const auto& request = std::get<RunRequest>(parsed);
    auto outcome = s.runs.run(request, RunWatch{req.client_fd ? req.client_fd() : -1});
    if (!outcome.ok()) {
      res.run_status = "aborted";
      return reply_abort(outcome, res);
    }
    res.run_status = std::string(outcome_status(outcome->outcome));
    res.json(200, result_to_json(outcome.value()));
  };
  return {{"POST", "/run", "/run", run}};
}

}  // namespace pyrunner
