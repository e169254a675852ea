#include "core/mcp/protocol.h"

#include <algorithm>

#include "version.h"

namespace pyrunner::mcp {
namespace {

// A tools/call id, JSON-encoded, as the key notifications/cancelled names it by.
std::string id_key(const json& id) { return id.dump(); }

// MCP ids are strings or integers (never null: JSON-RPC's null id is for errors only).
bool valid_id(const json& id) { return id.is_string() || id.is_number_integer(); }

json result_response(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

}  // namespace

const std::vector<std::string>& supported_versions() {
  static const std::vector<std::string> versions = {"2025-11-25", "2025-06-18", "2025-03-26",
                                                    "2024-11-05"};
  return versions;
}

bool is_supported_version(const std::string& version) {
  const auto& all = supported_versions();
  return std::find(all.begin(), all.end(), version) != all.end();
}

bool allows_batches(const std::string& version) { return version == "2025-03-26"; }

json error_response(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

std::string to_text(const json& message) {
  return message.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool Connection::initialized() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !version_.empty();
}

std::string Connection::version() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return version_;
}

std::optional<json> Connection::handle_text(std::string_view text, int client_fd) {
  json message = json::parse(text, nullptr, false);
  if (message.is_discarded())
    return error_response(nullptr, kParseError, "Parse error: the message is not valid JSON");
  return handle(message, client_fd);
}

std::optional<json> Connection::handle(const json& message, int client_fd) {
  if (!message.is_array()) return handle_one(message, client_fd);
  const std::string negotiated = version();
  if (negotiated.empty())
    return error_response(nullptr, kInvalidRequest,
                          "Invalid request: a batch before initialize (send initialize alone)");
  if (!allows_batches(negotiated))
    return error_response(nullptr, kInvalidRequest,
                          "Invalid request: protocol version " + negotiated +
                              " has no JSON-RPC batches (2025-03-26 had them); send one message "
                              "at a time");
  if (message.empty())
    return error_response(nullptr, kInvalidRequest, "Invalid request: an empty batch");
  json answers = json::array();
  for (const auto& item : message) {
    if (auto answer = handle_one(item, client_fd)) answers.push_back(std::move(*answer));
  }
  if (answers.empty()) return std::nullopt;
  return answers;
}

std::optional<json> Connection::handle_one(const json& message, int client_fd) {
  if (!message.is_object())
    return error_response(nullptr, kInvalidRequest,
                          "Invalid request: a JSON-RPC message is an object");
  const json id = message.contains("id") ? message["id"] : json();
  const bool has_id = message.contains("id");
  if (has_id && !valid_id(id))
    return error_response(nullptr, kInvalidRequest,
                          "Invalid request: id must be a string or an integer");
  auto version = message.find("jsonrpc");
  if (version == message.end() || *version != "2.0")
    return error_response(id, kInvalidRequest, "Invalid request: jsonrpc must be \"2.0\"");
  auto method = message.find("method");
  if (method == message.end()) {
    // A response to a request of ours: we send none, so there is nothing to match it with.
    if (has_id && (message.contains("result") || message.contains("error"))) return std::nullopt;
    return error_response(id, kInvalidRequest, "Invalid request: no method");
  }
  if (!method->is_string())
    return error_response(id, kInvalidRequest, "Invalid request: method must be a string");
  const std::string name = *method;
  json params = message.contains("params") ? message["params"] : json::object();
  if (!params.is_object()) {
    if (!has_id) return std::nullopt;  // a notification is never answered
    return error_response(id, kInvalidParams, "Invalid params: params must be an object");
  }
  if (!has_id) {  // notifications
    if (name == "notifications/cancelled") cancelled(params);
    // notifications/initialized and anything else: nothing to do, nothing to answer.
    return std::nullopt;
  }
  json answer = dispatch(name, params, id, client_fd);
  if (answer.is_null()) return std::nullopt;  // a cancelled call
  return answer;
}

json Connection::dispatch(const std::string& method, const json& params, const json& id,
                          int client_fd) {
  if (method == "initialize") return initialize(params, id);
  if (method == "ping") return result_response(id, json::object());
  if (!initialized())
    return error_response(id, kInvalidRequest,
                          "Invalid request: not initialized; send initialize first");
  if (method == "tools/list") return result_response(id, {{"tools", tools_.list(version())}});
  if (method == "tools/call") return call_tool(params, id, client_fd);
  return error_response(id, kMethodNotFound, "Method not found: " + method);
}

json Connection::initialize(const json& params, const json& id) {
  auto requested = params.find("protocolVersion");
  if (requested == params.end() || !requested->is_string())
    return error_response(id, kInvalidParams,
                          "Invalid params: initialize needs protocolVersion (a string)");
  std::string version = *requested;
  if (!is_supported_version(version)) version = supported_versions().front();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!version_.empty())
      return error_response(
          id, kInvalidRequest,
          "Invalid request: already initialized (protocol version " + version_ + ")");
    version_ = version;
  }
  json info = {{"name", "pyrunner"}, {"version", kVersion}};
  if (version >= "2025-06-18") info["title"] = "pyrunner: sandboxed Python";
  return result_response(id, {{"protocolVersion", version},
                              {"capabilities", {{"tools", {{"listChanged", false}}}}},
                              {"serverInfo", info},
                              {"instructions", tools_.instructions()}});
}

json Connection::call_tool(const json& params, const json& id, int client_fd) {
  auto name = params.find("name");
  if (name == params.end() || !name->is_string())
    return error_response(id, kInvalidParams, "Invalid params: tools/call needs name (a string)");
  const std::string tool = *name;
  if (!tools_.has(tool)) return error_response(id, kInvalidParams, "Unknown tool: " + tool);
  json arguments = params.contains("arguments") ? params["arguments"] : json::object();
  if (arguments.is_null()) arguments = json::object();
  if (!arguments.is_object())
    return error_response(id, kInvalidParams, "Invalid params: arguments must be an object");
  Call call;
  call.id = id;
  call.client_fd = client_fd;
  const std::string key = id_key(id);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (in_flight_.count(key))
      return error_response(id, kInvalidRequest,
                            "Invalid request: id " + key + " is already in use by a call");
    in_flight_[key] = &call;
  }
  json result = tools_.call(tool, arguments, version(), call);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    in_flight_.erase(key);
  }
  if (call.cancelled) return json();  // null: the transport sends nothing
  return result_response(id, std::move(result));
}

void Connection::cancelled(const json& params) {
  auto request = params.find("requestId");
  if (request == params.end() || !valid_id(*request)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = in_flight_.find(id_key(*request));
  if (it == in_flight_.end()) return;  // done already, or never was: ignored, as the spec says
  it->second->cancelled = true;
  tools_.cancel(*it->second);
}

}  // namespace pyrunner::mcp
