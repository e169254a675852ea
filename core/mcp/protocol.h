#pragma once
/// MCP's JSON-RPC 2.0 layer for one connection (a stdio client, or one HTTP Mcp-Session-Id):
/// the lifecycle (initialize with protocol version negotiation, notifications/initialized,
/// ping), tools/list and tools/call, notifications/cancelled, batches where the negotiated
/// version has them, and JSON-RPC's error codes. It knows no transport: stdio and HTTP hand it
/// parsed messages and send back what it returns. The tools are behind the Toolbox seam
/// (core/mcp/tools.h has the real ones).

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pyrunner::mcp {

using json = nlohmann::ordered_json;

/// JSON-RPC 2.0's error codes, as MCP uses them.
inline constexpr int kParseError = -32700;      // not JSON
inline constexpr int kInvalidRequest = -32600;  // JSON, but not a valid JSON-RPC message
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;  // also: an unknown tool
inline constexpr int kInternalError = -32603;

/// The protocol revisions this server speaks, newest first (the one offered when a client asks
/// for another).
const std::vector<std::string>& supported_versions();
bool is_supported_version(const std::string& version);
/// JSON-RPC batches: 2025-03-26 added them to MCP, 2025-06-18 removed them.
bool allows_batches(const std::string& version);

/// {"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}.
json error_response(const json& id, int code, const std::string& message);
/// The same as one line of text (invalid UTF-8 replaced).
std::string to_text(const json& message);

/// One tools/call in progress.
struct Call {
  json id;             // the request's id
  int client_fd = -1;  // the HTTP client's socket: its hang-up kills the run; -1 over stdio
  std::atomic<bool> cancelled{false};  // set by notifications/cancelled: no answer is sent
};

/// What a connection's tools are. Calls may come from several threads at once.
class Toolbox {
 public:
  virtual ~Toolbox() = default;
  /// tools/list's "tools" for the negotiated protocol version.
  virtual json list(const std::string& version) const = 0;
  virtual bool has(const std::string& name) const = 0;
  /// The CallToolResult ({"content", "isError"}) of tool `name` with `arguments` (an object):
  /// bad arguments and failed runs are results with isError, for the model to read and fix.
  virtual json call(const std::string& name, const json& arguments, const std::string& version,
                    Call& call) = 0;
  /// `call` has been cancelled: stop it if it is running (its answer is dropped).
  virtual void cancel(Call& call) = 0;
  /// initialize's "instructions": what the server is for, for the client's model.
  virtual std::string instructions() const = 0;
  /// The connection is ending: stop what runs, free what is held, refuse later calls.
  virtual void close(const std::string& why) = 0;
};

class Connection {
 public:
  explicit Connection(Toolbox& tools) : tools_(tools) {}

  /// Handles one message: a request, a notification, a response, or a batch of them. Returns
  /// what to send back (a response, or an array of them for a batch), or nullopt when nothing
  /// is due (notifications, responses, cancelled calls). Thread-safe.
  std::optional<json> handle(const json& message, int client_fd = -1);
  /// The same for a message's text; text that is not JSON is answered with a parse error.
  std::optional<json> handle_text(std::string_view text, int client_fd = -1);

  bool initialized() const;
  /// The negotiated protocol version ("" before initialize).
  std::string version() const;

 private:
  std::optional<json> handle_one(const json& message, int client_fd);
  json dispatch(const std::string& method, const json& params, const json& id, int client_fd);
  json initialize(const json& params, const json& id);
  json call_tool(const json& params, const json& id, int client_fd);
  void cancelled(const json& params);

  Toolbox& tools_;
  mutable std::mutex mutex_;
  std::string version_;                     // negotiated; empty before initialize
  std::map<std::string, Call*> in_flight_;  // tools/call requests, by their id's JSON text
};

}  // namespace pyrunner::mcp
