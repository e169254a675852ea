// The sessions routes: POST/GET /sessions, GET/DELETE /sessions/{id}, POST /sessions/{id}/run,
// POST /sessions/{id}/interrupt, GET /sessions/{id}/files[/{path}].

#include <nlohmann/json.hpp>
#include <variant>

#include "core/files/mime.h"
#include "core/http/services.h"
#include "core/model/result.h"
#include "core/sessions/session_manager.h"
#include "core/sessions/workdir.h"
#include "core/streaming/streamed_run.h"

namespace pyrunner {
namespace {

using json = nlohmann::ordered_json;

// Files a listing shows at most; file bodies up to this size are sent whole, larger ones are
// streamed.
constexpr size_t kListLimit = 10000;
constexpr off_t kWholeBody = 8 << 20;

void refuse(const SessionError& e, HttpResponse& res) {
  res.error(e.status, e.detail, e.retry_after);
}

// POST /sessions: {"memory_limit"?, "idle_timeout"?, "files"?}. The memory limit and the files
// are checked by the run validator, with its texts ("memory_limit: must be between ...").
void create(Services& s, const HttpRequest& req, HttpResponse& res) {
  json body = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (body.is_discarded()) return res.error(400, "body: invalid JSON");
  if (!body.is_object()) return res.error(422, "body: must be a JSON object");
  SessionOptions options;
  if (auto it = body.find("idle_timeout"); it != body.end() && !it->is_null()) {
    const int max = s.config.sessions.idle_timeout;
    if (!it->is_number_integer() || it->get<long long>() < 1 || it->get<long long>() > max)
      return res.error(422, "idle_timeout: must be an integer between 1 and " +
                                std::to_string(max) + " (sessions.idle_timeout)");
    options.idle_timeout = it->get<int>();
  }
  json as_run = {{"code", "pass"}};
  for (const char* key : {"memory_limit", "files"}) {
    if (auto it = body.find(key); it != body.end()) as_run[key] = *it;
  }
  if (!body.contains("memory_limit") || body["memory_limit"].is_null())
    as_run["memory_limit"] = s.config.sessions.default_memory_mb;
  auto parsed = s.validator.from_json(as_run.dump());
  if (auto* error = std::get_if<ValidationError>(&parsed))
    return res.error(error->http_status, error->detail);
  auto& request = std::get<RunRequest>(parsed);
  options.memory_mb = request.memory_mb;
  options.files = std::move(request.files);
  auto made = s.sessions.create(options, req.key);
  if (auto* e = std::get_if<SessionError>(&made)) return refuse(*e, res);
  res.json(201, std::get<json>(made).dump());
  res.set_header("Location", "/sessions/" + std::get<json>(made)["id"].get<std::string>());
}

// One run in session `id`, answered as without streaming.
void answer_run(Services& s, const std::string& id, const RunRequest& request,
                const RunWatch& watch, HttpResponse& res) {
  auto done = s.sessions.run(id, watch.key, request, watch);
  if (done.refused) return refuse(*done.refused, res);
  if (!done.outcome->ok()) {
    res.run_status = "aborted";
    return reply_abort(*done.outcome, res);
  }
  const RunResult& result = done.outcome->value();
  res.run_status = std::string(outcome_status(result.outcome));
  json j = result_json(result);
  j["execution_count"] = done.execution_count;
  if (!done.ended.empty()) j["session_ended"] = done.ended;
  res.json(200, j.dump(-1, ' ', false, json::error_handler_t::replace));
}

// POST /sessions/{id}/run: a run request without memory_limit (the session's is fixed); with
// Accept: application/x-ndjson or text/event-stream, its events and then the same answer.
void run(Services& s, const HttpRequest& req, HttpResponse& res) {
  if (s.runs.draining()) return res.error(503, "server is shutting down", 1);
  json body = json::parse(req.body, nullptr, false);
  if (body.is_object() && body.contains("memory_limit") && !body["memory_limit"].is_null())
    return res.error(422, "memory_limit: a session's memory limit is set when it is created");
  auto parsed = s.validator.from_json(req.body);
  if (auto* error = std::get_if<ValidationError>(&parsed))
    return res.error(error->http_status, error->detail);
  const auto format = streaming::format_of(req.header("accept"));
  if (format == streaming::Format::kNone)
    return answer_run(s, req.captures[0], std::get<RunRequest>(parsed), watch_of(req), res);
  streaming::respond(
      {format}, watch_of(req), s.metrics,
      [&s, id = req.captures[0], request = std::get<RunRequest>(std::move(parsed))](
          const RunWatch& watch, HttpResponse& answer) {
        answer_run(s, id, request, watch, answer);
      },
      res);
}

void file(Services& s, const HttpRequest& req, HttpResponse& res) {
  const std::string& path = req.captures[1];
  if (auto reason = relative_path_error(path)) return res.error(422, "path: " + *reason);
  auto workdir = s.sessions.workdir(req.captures[0], req.key);
  if (auto* e = std::get_if<SessionError>(&workdir)) return refuse(*e, res);
  auto opened = open_workdir_file(std::get<UniqueFd>(workdir).get(), path);
  if (!opened.ok()) {
    const auto& why = opened.status().message();
    if (why == "not found") return res.error(404, "path: no file '" + path + "' in the session");
    if (why.rfind("not a regular file", 0) == 0) return res.error(422, "path: " + why);
    return res.error(500, "internal error: " + why);
  }
  res.status = 200;
  res.content_type = mime_type_of(path);
  auto fd = std::make_shared<UniqueFd>(std::move(opened->fd));
  if (opened->size <= kWholeBody) {
    std::string body(static_cast<size_t>(opened->size), '\0');
    size_t have = 0;
    while (have < body.size()) {
      ssize_t n = read(fd->get(), body.data() + have, body.size() - have);
      if (n <= 0) break;
      have += static_cast<size_t>(n);
    }
    body.resize(have);
    res.body = std::move(body);
    return;
  }
  res.stream = [fd](const ChunkWriter& write) {
    char buf[1 << 16];
    ssize_t n;
    while ((n = read(fd->get(), buf, sizeof buf)) > 0) {
      if (!write(std::string_view(buf, static_cast<size_t>(n)))) return;
    }
  };
}

void files(Services& s, const HttpRequest& req, HttpResponse& res) {
  auto workdir = s.sessions.workdir(req.captures[0], req.key);
  if (auto* e = std::get_if<SessionError>(&workdir)) return refuse(*e, res);
  auto listed = list_workdir(std::get<UniqueFd>(workdir).get(), kListLimit);
  if (!listed.ok()) return res.error(500, "internal error: " + listed.status().message());
  res.json(200, listed->dump());
}

}  // namespace

std::vector<Route> session_routes(Services& s) {
  const std::string id = "/sessions/([^/]+)";
  return {
      {"POST", "/sessions", "/sessions",
       [&s](const HttpRequest& req, HttpResponse& res) { create(s, req, res); }},
      {"GET", "/sessions", "/sessions",
       [&s](const HttpRequest& req, HttpResponse& res) {
         res.json(200, s.sessions.list(req.key).dump());
       }},
      {"GET", id, "/sessions/{id}",
       [&s](const HttpRequest& req, HttpResponse& res) {
         auto info = s.sessions.info(req.captures[0], req.key);
         if (auto* e = std::get_if<SessionError>(&info)) return refuse(*e, res);
         res.json(200, std::get<json>(info).dump());
       }},
      {"DELETE", id, "/sessions/{id}",
       [&s](const HttpRequest& req, HttpResponse& res) {
         if (auto e = s.sessions.remove(req.captures[0], req.key)) return refuse(*e, res);
         res.status = 204;
         res.content_type = "text/plain";
       }},
      {"POST", id + "/run", "/sessions/{id}/run",
       [&s](const HttpRequest& req, HttpResponse& res) { run(s, req, res); }},
      {"POST", id + "/interrupt", "/sessions/{id}/interrupt",
       [&s](const HttpRequest& req, HttpResponse& res) {
         auto interrupted = s.sessions.interrupt(req.captures[0], req.key);
         if (auto* e = std::get_if<SessionError>(&interrupted)) return refuse(*e, res);
         res.json(200, json{{"interrupted", std::get<bool>(interrupted)}}.dump());
       }},
      {"GET", id + "/files", "/sessions/{id}/files",
       [&s](const HttpRequest& req, HttpResponse& res) { files(s, req, res); }},
      {"GET", id + "/files/(.+)", "/sessions/{id}/files/{path}",
       [&s](const HttpRequest& req, HttpResponse& res) { file(s, req, res); }},
  };
}

}  // namespace pyrunner
