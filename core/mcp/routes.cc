// MCP's streamable HTTP transport at /mcp: POST a JSON-RPC message (the answer is one JSON
// object; no SSE), DELETE to end the session named by Mcp-Session-Id. GET, which would open a
// stream of server-initiated messages, is answered 405: this server sends none.

#include <algorithm>
#include <memory>

#include "core/access/keys.h"
#include "core/http/services.h"
#include "core/mcp/http_sessions.h"
#include "core/mcp/protocol.h"

namespace pyrunner {
namespace {

using mcp::json;

// An HTTP refusal whose body is a JSON-RPC error without an id, as the transport suggests.
void refuse(HttpResponse& res, int status, int code, const std::string& message,
            int retry_after = 0) {
  res.json(status, mcp::to_text(mcp::error_response(nullptr, code, message)));
  if (retry_after > 0) res.set_header("Retry-After", std::to_string(retry_after));
}

// Browsers' requests carry Origin: only the origins server.cors_origins allows may use /mcp
// (a page that DNS rebinding pointed at a local server must not reach its sandbox).
bool origin_allowed(const Config& config, const std::string& origin) {
  if (origin.empty()) return true;
  const auto& allowed = config.server.cors_origins;
  return std::find(allowed.begin(), allowed.end(), "*") != allowed.end() ||
         std::find(allowed.begin(), allowed.end(), origin) != allowed.end();
}

bool accepts_json(const std::string& accept) {
  return accept.empty() || accept.find("application/json") != std::string::npos ||
         accept.find("*/*") != std::string::npos ||
         accept.find("application/*") != std::string::npos;
}

// Checks shared by POST and DELETE; false when `res` has the refusal.
bool admissible(Services& s, const HttpRequest& req, HttpResponse& res) {
  if (!origin_allowed(s.config, req.header("origin"))) {
    refuse(res, 403, mcp::kInvalidRequest,
           "Forbidden: origin " + req.header("origin") + " is not in server.cors_origins");
    return false;
  }
  const std::string version = req.header("mcp-protocol-version");
  if (!version.empty() && !mcp::is_supported_version(version)) {
    std::string supported;
    for (const auto& v : mcp::supported_versions())
      supported += (supported.empty() ? "" : ", ") + v;
    refuse(
        res, 400, mcp::kInvalidRequest,
        "Bad Request: MCP-Protocol-Version " + version + " is not supported (" + supported + ")");
    return false;
  }
  return true;
}

// Holds a session in use for the length of a request (it does not expire meanwhile).
struct InUse {
  explicit InUse(std::shared_ptr<mcp::HttpSession> s) : session(std::move(s)) {
    ++session->requests;
  }
  ~InUse() { --session->requests; }
  std::shared_ptr<mcp::HttpSession> session;
};

void post(Services& s, mcp::HttpSessions& sessions, const HttpRequest& req, HttpResponse& res) {
  if (!admissible(s, req, res)) return;
  if (!accepts_json(req.header("accept")))
    return refuse(
        res, 406, mcp::kInvalidRequest,
        "Not Acceptable: the answer is application/json (Accept: " + req.header("accept") + ")");
  const json message = json::parse(req.body, nullptr, false);
  if (message.is_discarded())
    return refuse(res, 400, mcp::kParseError, "Parse error: the body is not valid JSON");
  const bool initialize = message.is_object() && message.contains("id") &&
                          message.value("method", json()) == "initialize";
  const std::string id = req.header("mcp-session-id");
  std::shared_ptr<mcp::HttpSession> session;
  bool made = false;
  if (id.empty()) {
    if (!initialize)
      return refuse(res, 400, mcp::kInvalidRequest,
                    "Bad Request: no Mcp-Session-Id header; a session starts with initialize");
    bool over_key_limit = false;
    session = sessions.open(req.key, &over_key_limit);
    if (over_key_limit) {
      s.metrics.key_rejected(req.key->id(), "sessions");
      return refuse(res, 429, mcp::kInvalidRequest,
                    "key " + req.key->id() + ": at its limit of " +
                        std::to_string(req.key->limits().sessions) +
                        " open sessions (sessions); end one (DELETE /mcp) or retry later",
                    5);
    }
    if (!session)
      return refuse(res, 429, mcp::kInvalidRequest,
                    "Too many MCP sessions: " + std::to_string(s.config.sessions.max_sessions) +
                        " are open (sessions.max_sessions); end one (DELETE /mcp) or retry later",
                    5);
    made = true;
  } else {
    session = sessions.find(id, req.key);
    if (!session)
      return refuse(res, 404, mcp::kInvalidRequest,
                    "Not Found: no MCP session " + id.substr(0, 80) +
                        " (it ended or never existed); initialize a new one");
  }
  InUse in_use(session);
  // Only a call can run code, and only a run needs the socket (its hang-up kills the run).
  const bool call = message.is_object() && message.value("method", json()) == "tools/call";
  const int client_fd = call && req.client_fd ? req.client_fd() : -1;
  auto answer = session->connection.handle(message, client_fd);
  if (made) {
    if (!session->connection.initialized()) {  // a refused initialize opens nothing
      sessions.remove(session->id, req.key, "its initialize failed");
    } else {
      res.set_header("Mcp-Session-Id", session->id);
    }
  }
  if (!answer) {  // notifications and responses (and a cancelled call)
    res.status = 202;
    res.body.clear();
    res.content_type = "text/plain";
    return;
  }
  res.json(200, mcp::to_text(*answer));
}

void del(Services& s, mcp::HttpSessions& sessions, const HttpRequest& req, HttpResponse& res) {
  if (!admissible(s, req, res)) return;
  const std::string id = req.header("mcp-session-id");
  if (id.empty())
    return refuse(res, 400, mcp::kInvalidRequest,
                  "Bad Request: no Mcp-Session-Id header: which session to end?");
  if (!sessions.remove(id, req.key, "its MCP session was deleted by the client"))
    return refuse(res, 404, mcp::kInvalidRequest,
                  "Not Found: no MCP session " + id.substr(0, 80) + " (it ended or never existed)");
  res.status = 204;
  res.body.clear();
  res.content_type = "text/plain";
}

}  // namespace

std::vector<Route> mcp_routes(Services& s) {
  auto sessions = std::make_shared<mcp::HttpSessions>(s);
  return {
      {"POST", "/mcp", "/mcp",
       [&s, sessions](const HttpRequest& req, HttpResponse& res) { post(s, *sessions, req, res); }},
      {"DELETE", "/mcp", "/mcp",
       [&s, sessions](const HttpRequest& req, HttpResponse& res) { del(s, *sessions, req, res); }},
  };
}

}  // namespace pyrunner
