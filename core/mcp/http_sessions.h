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
  explicit HttpSession(Services& services) : tools(services), connection(tools) {}
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

  /// A new session with a fresh 128-bit id, or null when sessions.max_sessions are open.
  std::shared_ptr<HttpSession> open();
  /// The session, its clock restarted; null when unknown, ended or expired.
  std::shared_ptr<HttpSession> find(const std::string& id);
  /// Ends it; false when unknown.
  bool remove(const std::string& id, const std::string& why);
  int open_count();

 private:
  Services& s_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<HttpSession>> sessions_;
};

}  // namespace pyrunner::mcp
