#pragma once
/// The server's routes, independent of the HTTP library. Each feature (runs, sessions,
/// grading, the drop-in APIs, MCP) lists its routes as a table of method, path pattern and
/// handler; core/http/server.cc is the only file that knows cpp-httplib.

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pyrunner {

class ApiKey;  // core/access/keys.h

struct HttpRequest {
  std::string method, path, body;
  std::map<std::string, std::string> headers;      // names lowercased
  std::multimap<std::string, std::string> params;  // the query string
  std::vector<std::string> captures;               // the pattern's groups, in order
  std::function<int()> client_fd;                  // the connection's socket
  std::string remote_addr;
  std::chrono::steady_clock::time_point received_at;  // when it had arrived whole
  ApiKey* key = nullptr;  // the caller's API key (core/access); null when the server has none

  /// The header's value, or "" (`name` in lowercase).
  std::string header(const std::string& name) const;
  /// The query parameter's (first) value, or `fallback`.
  std::string param(const std::string& name, const std::string& fallback = "") const;
  bool has_param(const std::string& name) const { return params.count(name) > 0; }
};

/// Writes one piece of a streamed body; false once the client has gone.
using ChunkWriter = std::function<bool(std::string_view)>;

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  /// When set, the body is streamed (chunked) as this writes it, instead of `body`.
  std::function<void(const ChunkWriter&)> stream;
  /// What the log line and the X-Run-Status header say of the run ("-": none happened).
  std::string run_status;

  void set_header(std::string name, std::string value);
  /// A JSON answer.
  void json(int status, std::string body);
  /// {"detail": ...}, with Retry-After when `retry_after` > 0.
  void error(int status, const std::string& detail, int retry_after = 0);
};

using Handler = std::function<void(const HttpRequest&, HttpResponse&)>;

struct Route {
  std::string method;   // GET, POST, DELETE
  std::string pattern;  // the path, as a regex: "/sessions/([^/]+)/run"
  std::string label;    // the path as metrics and logs name it: "/sessions/{id}/run"
  Handler handler;
  bool open = false;  // answered without an API key (health, the OpenAPI document)
};

/// {"detail": text}, invalid UTF-8 replaced.
std::string error_body(const std::string& detail);

}  // namespace pyrunner
