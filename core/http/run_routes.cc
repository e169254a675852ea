// POST /run: validate, run through the run service, answer with the result.

#include <variant>

#include "core/grading/verdict.h"
#include "core/http/services.h"
#include "core/model/result.h"

namespace pyrunner {

std::vector<Route> run_routes(Services& s) {
  Handler run = [&s](const HttpRequest& req, HttpResponse& res) {
    if (s.runs.draining()) return res.error(503, "server is shutting down", 1);
    nlohmann::json body;
    auto parsed = s.validator.from_json(req.body, &body);
    if (auto* error = std::get_if<ValidationError>(&parsed))
      return res.error(error->http_status, error->detail);
    const auto& request = std::get<RunRequest>(parsed);
    auto expectation = grading::read_expectation(body, s.config.limits);  // + verdict, diff
    if (auto* error = std::get_if<ValidationError>(&expectation))
      return res.error(error->http_status, error->detail);
    auto outcome = s.runs.run(request, watch_of(req));
    if (!outcome.ok()) {
      res.run_status = "aborted";
      return reply_abort(outcome, res);
    }
    res.run_status = std::string(outcome_status(outcome->outcome));
    res.json(200, grading::run_answer(outcome.value(),
                                      std::get<std::optional<grading::Expectation>>(expectation)));
  };
  return {{"POST", "/run", "/run", run}};
}

}  // namespace pyrunner
