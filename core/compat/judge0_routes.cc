// Judge0's routes (v1.13, Python only): POST/GET /submissions, the batch forms, /languages,
// /statuses. Thin: the submission is read and mapped in judge0.cc, run by the run service.

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "core/compat/judge0.h"
#include "core/compat/replies.h"
#include "core/http/services.h"

namespace pyrunner {
namespace {

using compat::Submission;
using nlohmann::ordered_json;

constexpr auto kReplace = ordered_json::error_handler_t::replace;
constexpr const char* kConversion =
    "some attributes for this submission cannot be converted to UTF-8, use base64_encoded=true "
    "query parameter";

// Judge0's error shape, {"error": text}; Retry-After on the answers that may be tried again.
void judge0_error(HttpResponse& res, int status, const std::string& text, int retry_after = 0) {
  res.json(status, ordered_json{{"error", text}}.dump(-1, ' ', false, kReplace));
  if (retry_after > 0) res.set_header("Retry-After", std::to_string(retry_after));
}

ordered_json field_errors_json(const compat::FieldErrors& errors) {
  ordered_json j = ordered_json::object();
  for (const auto& [field, messages] : errors) j[field] = messages;
  return j;
}

// Judge0's routes over one store of submissions. Shared (enable_shared_from_this): a
// submission run in the background keeps the store alive until it is done.
class Judge0 : public std::enable_shared_from_this<Judge0> {
 public:
  explicit Judge0(Services& s)
      : s_(s),
        setup_{s.config, s.validator, compat::judge0_languages(s.libraries.python_version)},
        store_(static_cast<size_t>(s.config.compat.judge0_max_submissions),
               static_cast<size_t>(s.config.compat.judge0_max_store_mb) << 20,
               std::chrono::seconds(s.config.compat.judge0_result_ttl)) {}

  // Runs a submission's runs in order (number_of_runs), stopping at one not accepted. A run
  // that did not happen for load or shutdown ends it with that outcome, unrecorded: a client
  // that waits is told so, a background submission (`patient`) tries again while the server
  // is overloaded. Any other failure is Judge0's Internal Error.
  std::optional<RunOutcome> execute(Submission& sub, int client_fd, ApiKey* key, bool patient) {
    RunWatch watch;
    watch.client_fd = client_fd;
    watch.key = key;
    for (int run = 0; run < sub.number_of_runs; ++run) {
      auto outcome = s_.runs.run(sub.request, watch);
      // The queue was full or nothing freed up in queue_timeout: a background submission
      // stays In Queue, as in Judge0, and asks again (at once when it already waited).
      while (patient && compat::overloaded(outcome) && !s_.runs.draining()) {
        if (outcome.abort() != RunAbort::kQueueTimeout)
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        outcome = s_.runs.run(sub.request, watch);
      }
      if (!outcome.ok()) {
        const auto why = outcome.abort();
        if (!patient && (compat::overloaded(outcome) || why == RunAbort::kShutdown ||
                         why == RunAbort::kUnavailable || why == RunAbort::kClientGone))
          return outcome;
        compat::record_internal_error(outcome.status().message(), &sub);
        return std::nullopt;
      }
      compat::record_result(outcome.value(), run, &sub);
      if (sub.status_id != 3) return std::nullopt;
    }
    return std::nullopt;
  }

  bool fields_of(const HttpRequest& req, HttpResponse& res, std::vector<std::string>* out) {
    std::vector<std::string> invalid;
    *out = compat::judge0_fields(req.param("fields"), &invalid);
    if (invalid.empty()) return true;
    std::string list;
    for (const auto& f : invalid) list += (list.empty() ? "" : ", ") + f;
    judge0_error(res, 400, "invalid fields: [" + list + "]");
    return false;
  }

  // The body as JSON, or Judge0's {error} answer (400) and nullopt.
  std::optional<nlohmann::json> body_of(const HttpRequest& req, HttpResponse& res) {
    try {
      return nlohmann::json::parse(req.body);
    } catch (const nlohmann::json::parse_error& e) {
      judge0_error(res, 400, std::string("the body is not valid JSON: ") + e.what());
      return std::nullopt;
    }
  }

  void create(const HttpRequest& req, HttpResponse& res) {
    if (s_.runs.draining()) return judge0_error(res, 503, "server is shutting down", 1);
    const bool base64 = req.param("base64_encoded") == "true";
    const bool wait = req.param("wait") == "true";
    std::vector<std::string> fields;
    if (!fields_of(req, res, &fields)) return;
    auto body = body_of(req, res);
    if (!body) return;
    Submission sub;
    sub.created_at = std::chrono::system_clock::now();
    sub.owner = req.key;
    if (auto errors = compat::read_submission(*body, base64, setup_, &sub))
      return res.json(422, field_errors_json(*errors).dump(-1, ' ', false, kReplace));
    if (!wait) {
      if (!submit(sub, req.key)) return judge0_error(res, 503, "queue is full", 1);
      res.run_status = "queued";
      return res.json(201, ordered_json{{"token", sub.token}}.dump());
    }
    if (auto refused = execute(sub, req.client_fd ? req.client_fd() : -1, req.key, false)) {
      res.run_status = "aborted";
      return compat::reply_abort_as("error", *refused, res);
    }
    res.run_status = std::to_string(sub.status_id);
    if (!store_.add(sub)) return judge0_error(res, 503, "queue is full", 1);
    auto j = compat::submission_json(sub, fields, base64);
    if (!j) return res.json(201, ordered_json{{"error", kConversion}, {"token", sub.token}}.dump());
    res.json(201, j->dump(-1, ' ', false, kReplace));
  }

  // The submission of `token`, if `caller` made it: another key's is not found, as a session
  // of another key is not (with read_submission's fields, a token would show its code, input
  // and output to any key).
  std::optional<Submission> find(const std::string& token, const ApiKey* caller) {
    auto sub = store_.find(token);
    if (sub && sub->owner != caller) return std::nullopt;
    return sub;
  }

  // Stores the submission as In Queue and runs it on the run service's background threads.
  bool submit(Submission& sub, ApiKey* key) {
    if (!store_.add(sub)) return false;
    const std::string token = sub.token;
    const bool queued = s_.runs.run_later(
        [self = shared_from_this(), sub, key]() mutable {
          sub.status_id = 2;  // Processing
          self->store_.update(sub);
          self->execute(sub, -1, key, true);  // patient: it ends with a result, whatever happens
          self->store_.update(sub);
        },
        static_cast<size_t>(s_.config.compat.judge0_max_submissions));
    if (!queued) store_.remove(token);
    return queued;
  }

  void show(const HttpRequest& req, HttpResponse& res) {
    std::vector<std::string> fields;
    if (!fields_of(req, res, &fields)) return;
    auto sub = find(req.captures.at(0), req.key);
    // Rails' answer for a record it cannot find.
    if (!sub) return res.json(404, R"({"error":"Not Found","status":404})");
    auto j = compat::submission_json(*sub, fields, req.param("base64_encoded") == "true");
    if (!j) return judge0_error(res, 400, kConversion);
    res.json(200, j->dump(-1, ' ', false, kReplace));
  }

  void batch_create(const HttpRequest& req, HttpResponse& res) {
    if (s_.runs.draining()) return judge0_error(res, 503, "server is shutting down", 1);
    const bool base64 = req.param("base64_encoded") == "true";
    auto parsed = body_of(req, res);
    if (!parsed) return;
    const nlohmann::json& body = *parsed;
    const auto list = body.is_object() ? body.find("submissions") : body.end();
    const size_t n = body.is_object() && list != body.end() && list->is_array() ? list->size() : 0;
    const int max = s_.config.server.max_batch;
    if (static_cast<int>(n) > max)
      return judge0_error(res, 400,
                          "number of submissions in a batch should be less than or equal to " +
                              std::to_string(max));
    if (n == 0) return judge0_error(res, 400, "there should be at least one submission in a batch");
    ordered_json answer = ordered_json::array();
    bool any = false;
    for (const auto& item : *list) {
      Submission sub;
      sub.created_at = std::chrono::system_clock::now();
      sub.owner = req.key;
      if (auto errors = compat::read_submission(item, base64, setup_, &sub)) {
        answer.push_back(field_errors_json(*errors));
      } else if (!submit(sub, req.key)) {
        return judge0_error(res, 503, "queue is full", 1);
      } else {
        answer.push_back({{"token", sub.token}});
        any = true;
      }
    }
    res.run_status = "queued";
    res.json(any ? 201 : 422, answer.dump(-1, ' ', false, kReplace));
  }

  void batch_show(const HttpRequest& req, HttpResponse& res) {
    std::vector<std::string> fields;
    if (!fields_of(req, res, &fields)) return;
    std::vector<std::string> tokens;
    const std::string text =
        req.header("tokens").empty() ? req.param("tokens") : req.header("tokens");
    size_t start = 0;
    while (start < text.size()) {
      size_t comma = text.find(',', start);
      if (comma == std::string::npos) comma = text.size();
      std::string t = text.substr(start, comma - start);
      t.erase(0, t.find_first_not_of(' '));
      t.erase(t.find_last_not_of(' ') + 1);
      if (!t.empty()) tokens.push_back(t);
      start = comma + 1;
    }
    const int max = s_.config.server.max_batch;
    if (static_cast<int>(tokens.size()) > max)
      return judge0_error(res, 400,
                          "number of submissions in a batch should be less than or equal to " +
                              std::to_string(max));
    if (tokens.empty())
      return judge0_error(res, 400, "there should be at least one submission in a batch");
    const bool base64 = req.param("base64_encoded") == "true";
    ordered_json list = ordered_json::array();
    for (const auto& token : tokens) {
      auto sub = find(token, req.key);
      if (!sub) {
        list.push_back(nullptr);
        continue;
      }
      auto j = compat::submission_json(*sub, fields, base64);
      if (!j)
        return judge0_error(res, 400,
                            "some attributes for one or more submissions cannot be converted to "
                            "UTF-8, use base64_encoded=true query parameter");
      list.push_back(std::move(*j));
    }
    res.json(200, ordered_json{{"submissions", list}}.dump(-1, ' ', false, kReplace));
  }

  // GET /languages ({id, name}), and /languages/all (with is_archived, by name, as Judge0).
  void languages(HttpResponse& res, bool all) {
    auto sorted = setup_.languages;
    if (all)
      std::sort(sorted.begin(), sorted.end(),
                [](const auto& a, const auto& b) { return a.name < b.name; });
    ordered_json list = ordered_json::array();
    for (const auto& l : sorted) {
      list.push_back({{"id", l.id}, {"name", l.name}});
      if (all) list.back()["is_archived"] = false;
    }
    res.json(200, list.dump());
  }

  void language(const HttpRequest& req, HttpResponse& res) {
    for (const auto& l : setup_.languages) {
      if (std::to_string(l.id) != req.captures.at(0)) continue;
      return res.json(200, ordered_json{{"id", l.id},
                                        {"name", l.name},
                                        {"is_archived", false},
                                        {"source_file", "script.py"},
                                        {"compile_cmd", nullptr},
                                        {"run_cmd", s_.config.python.interpreter + " script.py"}}
                               .dump());
    }
    res.json(404, R"({"error":"Not Found","status":404})");
  }

  void statuses(HttpResponse& res) {
    ordered_json list = ordered_json::array();
    for (const auto& st : compat::judge0_statuses())
      list.push_back({{"id", st.id}, {"description", st.description}});
    res.json(200, list.dump());
  }

 private:
  Services& s_;
  const compat::Judge0Setup setup_;
  compat::SubmissionStore store_;
};

}  // namespace

std::vector<Route> judge0_routes(Services& s) {
  if (!s.config.compat.judge0_enabled) return {};
  auto j = std::make_shared<Judge0>(s);
  const auto on = [j](void (Judge0::*f)(const HttpRequest&, HttpResponse&)) {
    return [j, f](const HttpRequest& req, HttpResponse& res) { ((*j).*f)(req, res); };
  };
  return {
      // The batch paths before /submissions/{token}, which would match them too.
      {"POST", "/submissions/batch", "/submissions/batch", on(&Judge0::batch_create)},
      {"GET", "/submissions/batch", "/submissions/batch", on(&Judge0::batch_show)},
      {"POST", "/submissions/?", "/submissions", on(&Judge0::create)},
      {"GET", "/submissions/([^/]+)", "/submissions/{token}", on(&Judge0::show)},
      {"GET", "/languages/?", "/languages",
       [j](const HttpRequest&, HttpResponse& res) { j->languages(res, false); }},
      {"GET", "/languages/all", "/languages/all",
       [j](const HttpRequest&, HttpResponse& res) { j->languages(res, true); }},
      {"GET", "/languages/([0-9]+)", "/languages/{id}", on(&Judge0::language)},
      {"GET", "/statuses/?", "/statuses",
       [j](const HttpRequest&, HttpResponse& res) { j->statuses(res); }},
  };
}

}  // namespace pyrunner
