// POST /run: validate, run through the run service, answer with the result (or, when the client
// asks for a stream, with the run's events and then the same result: core/streaming).

#include <variant>

#include "core/grading/verdict.h"
#include "core/http/services.h"
#include "core/model/result.h"
#include "core/streaming/streamed_run.h"

namespace pyrunner {
namespace {

void answer_run(Services& s, const RunRequest& request,
                const std::optional<grading::Expectation>& expectation, const RunWatch& watch,
                HttpResponse& res) {
  auto outcome = s.runs.run(request, watch);
  if (!outcome.ok()) {
    res.run_status = "aborted";
    return reply_abort(outcome, res);
  }
  res.run_status = std::string(outcome_status(outcome->outcome));
  res.json(200, grading::run_answer(outcome.value(), expectation));
}

}  // namespace

std::vector<Route> run_routes(Services& s) {
  Handler run = [&s](const HttpRequest& req, HttpResponse& res) {
    if (s.runs.draining()) return res.error(503, "server is shutting down", 1);
    nlohmann::json body;
    auto parsed = s.validator.from_json(req.body, &body);
    if (auto* error = std::get_if<ValidationError>(&parsed))
      return res.error(error->http_status, error->detail);
    auto expectation = grading::read_expectation(body, s.config.limits);  // + verdict, diff
    if (auto* error = std::get_if<ValidationError>(&expectation))
      return res.error(error->http_status, error->detail);
    auto& expected = std::get<std::optional<grading::Expectation>>(expectation);
    const auto format = streaming::format_of(req.header("accept"));
    if (format == streaming::Format::kNone)
      return answer_run(s, std::get<RunRequest>(parsed), expected, watch_of(req), res);
    streaming::respond(
        {format}, watch_of(req), s.metrics,
        [&s, request = std::get<RunRequest>(std::move(parsed)), expected = std::move(expected)](
            const RunWatch& watch, HttpResponse& answer) {
          answer_run(s, request, expected, watch, answer);
        },
        res);
  };
  return {{"POST", "/run", "/run", run}};
}

}  // namespace pyrunner
