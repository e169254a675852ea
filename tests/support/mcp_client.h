#pragma once
// Test support: minimal MCP clients that speak to the real binary, over stdio (`pyrunner mcp`
// as a child with pipes) and over HTTP (a TestServer's /mcp). They send what a test gives them,
// malformed or not, and hand back the raw answers; the official SDK's client is driven
// separately (tests/mcp/client.mjs).

#include <sys/types.h>

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/harness.h"

namespace pyrunner::testing {

constexpr const char* kMcpVersion = "2025-11-25";

/// {"jsonrpc": "2.0", "id": id, "method": method, "params": params}.
nlohmann::json rpc_request(const nlohmann::json& id, const std::string& method,
                           nlohmann::json params = nlohmann::json::object());

/// `pyrunner mcp [--config FILE]` with its stdin and stdout on pipes, stderr collected.
class StdioMcp {
 public:
  explicit StdioMcp(const std::string& config_yaml = "", const std::vector<std::string>& env = {});
  ~StdioMcp();  // closes stdin, waits; SIGKILL if it does not exit
  StdioMcp(const StdioMcp&) = delete;
  StdioMcp& operator=(const StdioMcp&) = delete;

  /// Writes `text` as it is (add the newline yourself); false once the pipe is closed.
  bool write_raw(const std::string& text);
  bool send(const nlohmann::json& message) { return write_raw(message.dump() + "\n"); }
  /// The next line on stdout, parsed (a line that is not JSON is kept in non_json and skipped);
  /// null on EOF or after `limit`.
  nlohmann::json read(std::chrono::milliseconds limit = std::chrono::seconds(120));
  /// Sends a request and reads until the answer with its id (other messages are kept in
  /// `others`).
  nlohmann::json request(const std::string& method,
                         nlohmann::json params = nlohmann::json::object());
  /// initialize (the version asked for) and notifications/initialized; the initialize answer.
  nlohmann::json initialize(const std::string& version = kMcpVersion);
  /// tools/call's answer (the whole JSON-RPC response).
  nlohmann::json call(const std::string& tool, nlohmann::json arguments = nlohmann::json::object());
  void close_stdin();
  /// Closes both pipes, as a client process that died would.
  void disappear();
  /// Waits up to `limit` for the process to exit; its exit code (negative: a signal), or
  /// nullopt if it is still running.
  std::optional<int> wait(std::chrono::milliseconds limit);
  pid_t pid() const { return pid_; }
  std::string log() const;

  std::vector<std::string> non_json;  // stdout lines that were not JSON: must stay empty
  std::vector<nlohmann::json> others;

 private:
  std::unique_ptr<TempFile> config_;
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string pending_;  // stdout read past the last line
  int next_id_ = 1;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::string log_;
  std::optional<int> exit_code_;
};

/// An MCP session over HTTP with a TestServer's /mcp.
class HttpMcp {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;
  /// Sends initialize (and notifications/initialized); `initialized()` says whether it worked.
  /// `always`: headers every request sends (an API key).
  explicit HttpMcp(const TestServer& server, const std::string& version = kMcpVersion,
                   Headers always = {});
  bool initialized() const { return !session_id_.empty(); }
  const std::string& session_id() const { return session_id_; }
  const HttpResponse& initialize_answer() const { return initialize_; }
  /// POSTs `body` with Content-Type and Accept as the spec has them, the session's id, and
  /// `extra`.
  HttpResponse post(const std::string& body, const Headers& extra = {}) const;
  /// A request's JSON-RPC answer (null when the HTTP answer was not JSON).
  nlohmann::json request(const std::string& method,
                         nlohmann::json params = nlohmann::json::object());
  nlohmann::json call(const std::string& tool, nlohmann::json arguments = nlohmann::json::object());
  /// DELETE /mcp with the session's id: the HTTP status.
  int end();

 private:
  const TestServer& server_;
  std::string version_;
  Headers always_;
  std::string session_id_;
  HttpResponse initialize_;
  int next_id_ = 1;
};

/// Any method, path, body and headers to a server on loopback.
HttpResponse http_request(int port, const std::string& method, const std::string& path,
                          const std::string& body, const HttpMcp::Headers& headers);

/// The texts of a CallToolResult's text items, joined by newlines.
std::string result_text(const nlohmann::json& call_result);

}  // namespace pyrunner::testing
