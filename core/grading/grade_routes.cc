// POST /grade and POST /batch: every test and item is its own run through the run service
// (admission included), at most as many at once as the server has run slots.

#include <algorithm>
#include <variant>

#include "core/access/keys.h"
#include "core/grading/batch.h"
#include "core/grading/grade.h"
#include "core/http/services.h"

namespace pyrunner {
namespace {

using nlohmann::ordered_json;

constexpr auto kReplace = ordered_json::error_handler_t::replace;

// The body as JSON, or the 400 that says why it is not.
bool parse_body(const HttpRequest& req, HttpResponse& res, nlohmann::json* body) {
  try {
    *body = nlohmann::json::parse(req.body);
    return true;
  } catch (const nlohmann::json::parse_error& e) {
    res.error(400, std::string("body: invalid JSON: ") + e.what());
    return false;
  }
}

// Each run of one grade or batch goes through admission like any other; the grade's own
// parallelism is bounded by the slots, so that one grade does not fill the queue by itself,
// and by its key's concurrent_runs, which its runs count against.
size_t parallelism(const Services& s, const HttpRequest& req, size_t runs) {
  size_t most = static_cast<size_t>(s.config.concurrent_runs());
  if (req.key != nullptr && req.key->limits().concurrent_runs > 0)
    most = std::min(most, static_cast<size_t>(req.key->limits().concurrent_runs));
  return std::min(runs, most);
}

grading::RunFn runner(Services& s, const HttpRequest& req) {
  RunWatch watch;
  watch.client_fd = req.client_fd ? req.client_fd() : -1;
  watch.key = req.key;
  return [&s, watch](const RunRequest& r) { return s.runs.run(r, watch); };
}

void grade(Services& s, const HttpRequest& req, HttpResponse& res) {
  if (s.runs.draining()) return res.error(503, "server is shutting down", 1);
  nlohmann::json body;
  if (!parse_body(req, res, &body)) return;
  if (!body.is_object()) return res.error(422, "body: must be a JSON object");
  auto parsed =
      grading::grade_from_json(body, s.validator, s.config.limits, s.config.server.max_tests);
  if (auto* e = std::get_if<ValidationError>(&parsed)) return res.error(e->http_status, e->detail);
  const auto& request = std::get<grading::GradeRequest>(parsed);
  auto outcome =
      grading::run_grade(request, parallelism(s, req, request.tests.size()), runner(s, req));
  if (outcome.abort) {
    res.run_status = "aborted";
    return reply_abort(*outcome.abort, res);
  }
  res.run_status = std::string(grading::verdict_name(outcome.report.verdict));
  res.json(200, grading::grade_json(request, outcome.report).dump(-1, ' ', false, kReplace));
}

void batch(Services& s, const HttpRequest& req, HttpResponse& res) {
  if (s.runs.draining()) return res.error(503, "server is shutting down", 1);
  nlohmann::json body;
  if (!parse_body(req, res, &body)) return;
  auto parsed =
      grading::batch_from_json(body, s.validator, s.config.limits, s.config.server.max_batch);
  if (auto* e = std::get_if<ValidationError>(&parsed)) return res.error(e->http_status, e->detail);
  const auto& items = std::get<std::vector<grading::BatchItem>>(parsed);
  auto answer = grading::run_batch(items, parallelism(s, req, items.size()), runner(s, req));
  res.run_status = "batch";
  res.json(200, answer.dump(-1, ' ', false, kReplace));
}

}  // namespace

std::vector<Route> grading_routes(Services& s) {
  return {
      {"POST", "/grade", "/grade",
       [&s](const HttpRequest& req, HttpResponse& res) { grade(s, req, res); }},
      {"POST", "/batch", "/batch",
       [&s](const HttpRequest& req, HttpResponse& res) { batch(s, req, res); }},
  };
}

}  // namespace pyrunner
