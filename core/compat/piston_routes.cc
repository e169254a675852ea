// Piston's routes (v2, Python only): GET /api/v2/runtimes, POST /api/v2/execute.

#include "core/compat/piston.h"
#include "core/compat/replies.h"
#include "core/http/services.h"

namespace pyrunner {

std::vector<Route> piston_routes(Services& s) {
  if (!s.config.compat.piston_enabled) return {};
  const std::string version = s.libraries.python_version;
  return {
      {"GET", "/api/v2/runtimes", "/api/v2/runtimes",
       [version](const HttpRequest&, HttpResponse& res) {
         res.json(200, compat::piston_runtimes(version).dump());
       }},
      {"POST", "/api/v2/execute", "/api/v2/execute",
       [&s, version](const HttpRequest& req, HttpResponse& res) {
         const auto bad_request = [&res](const std::string& message) {
           res.json(400, nlohmann::ordered_json{{"message", message}}.dump(
                             -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
         };
         if (s.runs.draining()) {
           res.json(503, R"({"message":"server is shutting down"})");
           return res.set_header("Retry-After", "1");
         }
         // Whatever the content type: piston-client posts its JSON as text/plain.
         nlohmann::json body;
         try {
           body = nlohmann::json::parse(req.body);
         } catch (const nlohmann::json::parse_error& e) {
           return bad_request(std::string("the body is not valid JSON: ") + e.what());
         }
         RunRequest request;
         if (auto message = compat::read_execute(body, s.config, s.validator, version, &request))
           return bad_request(*message);
         auto outcome = s.runs.run(request, watch_of(req));
         if (!outcome.ok()) {
           res.run_status = "aborted";
           return compat::reply_abort_as("message", outcome, res);
         }
         res.run_status = std::string(outcome_status(outcome->outcome));
         res.json(200, compat::execute_json(outcome.value(), version, s.config)
                           .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
       }},
  };
}

}  // namespace pyrunner
