#pragma once
/// The MCP sessions of the streamable HTTP transport (/mcp): one Connection and its tools per
/// Mcp-Session-Id. At most sessions.max_sessions are open (each may hold a sandboxed session);
/// one that has had no request for sessions.idle_timeout seconds ends, as does one its client
/// deletes. Ending one ends its pyrunner session, killing a run in progress.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/http/services.h"
#include "core/mcp/protocol.h"
#include "core/mcp/tools.h"

namespace pyrunner::mcp {

struct HttpSession {
  HttpSession(Services& services, ApiKey* key)
      : owner(key), tools(services, key), connection(tools) {}
  ApiKey* const owner;  // the API key that initialized it (null: no keys); others get 404
  std::string id;
  PythonTools tools;
  Connection connection;
  std::chrono::steady_clock::time_point last_used;
  std::atomic<int> requests{0};  // in progress: such a session does not expire
};

class HttpSessions {
 public:
  explicit HttpSessions(Services& services) : s_(services) {}
  ~HttpSessions();

  /// A new session of `owner` with a fresh 128-bit id, or null when sessions.max_sessions
  /// are open, or `owner`'s sessions limit (`*over_key_limit` is then set).
  std::shared_ptr<HttpSession> open(ApiKey* owner, bool* over_key_limit);
  /// The session, its clock restarted; null when unknown, ended, expired or another key's.
  std::shared_ptr<HttpSession> find(const std::string& id, const ApiKey* caller);
  /// Ends it; false when unknown (or another key's).
  bool remove(const std::string& id, const ApiKey* caller, const std::string& why);
  int open_count();

 private:
  Services& s_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<HttpSession>> sessions_;
};

}  // namespace pyrunner::mcp
