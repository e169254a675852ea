// MCP's JSON-RPC layer (core/mcp/protocol.h) on its own: the lifecycle, version negotiation,
// every error code, batches, cancellation. The tools are a recording Toolbox here; the real
// ones are driven through the binary in stdio_test.cc, http_test.cc and sdk_test.cc.

#include "core/mcp/protocol.h"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <future>
#include <thread>

namespace {

using pyrunner::mcp::Call;
using pyrunner::mcp::Connection;
using pyrunner::mcp::json;

// Answers every call with its arguments echoed; a call of "block" waits until cancelled.
class RecordingTools : public pyrunner::mcp::Toolbox {
 public:
  json list(const std::string& version) const override {
    return json::array({{{"name", "echo"}, {"version", version}}});
  }
  bool has(const std::string& name) const override { return name == "echo" || name == "block"; }
  json call(const std::string& name, const json& arguments, const std::string&,
            Call& call) override {
    if (name == "block") {
      std::unique_lock<std::mutex> lock(mutex_);
      started_ = true;
      changed_.notify_all();
      changed_.wait(lock, [&] { return call.cancelled.load(); });
      return {{"content", json::array()}};
    }
    ++calls;
    return {{"content", json::array({{{"type", "text"}, {"text", arguments.dump()}}})},
            {"isError", false}};
  }
  void cancel(Call&) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++cancels;
    changed_.notify_all();
  }
  std::string instructions() const override { return "for tests"; }
  void close(const std::string&) override {}
  void wait_started() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return started_; });
  }

  int calls = 0;
  int cancels = 0;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool started_ = false;
};

json request(const json& id, const std::string& method, json params = json::object()) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

json initialize(Connection& c, const std::string& version = "2025-11-25") {
  auto answer = c.handle(request(0, "initialize",
                                 {{"protocolVersion", version},
                                  {"capabilities", json::object()},
                                  {"clientInfo", {{"name", "t"}, {"version", "1"}}}}));
  REQUIRE(answer.has_value());
  return *answer;
}

int error_code(const std::optional<json>& answer) {
  REQUIRE(answer.has_value());
  INFO(answer->dump());
  REQUIRE(answer->contains("error"));
  return (*answer)["error"]["code"];
}

}  // namespace

TEST_CASE("initialize negotiates the protocol version", "[mcp]") {
  for (const char* version : {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}) {
    RecordingTools tools;
    Connection c(tools);
    auto answer = initialize(c, version);
    INFO(answer.dump());
    CHECK(answer["jsonrpc"] == "2.0");
    CHECK(answer["id"] == 0);
    CHECK(answer["result"]["protocolVersion"] == version);
    CHECK(answer["result"]["capabilities"] == json{{"tools", {{"listChanged", false}}}});
    CHECK(answer["result"]["serverInfo"]["name"] == "pyrunner");
    CHECK(answer["result"]["instructions"] == "for tests");
    CHECK(c.version() == version);
  }
  SECTION("a version it does not speak gets its newest") {
    RecordingTools tools;
    Connection c(tools);
    CHECK(initialize(c, "1999-01-01")["result"]["protocolVersion"] == "2025-11-25");
    CHECK(initialize(c, "2025-11-25")["error"]["code"] == -32600);  // only once
  }
  SECTION("initialize without protocolVersion is invalid params") {
    RecordingTools tools;
    Connection c(tools);
    CHECK(error_code(c.handle(request(1, "initialize", {{"protocolVersion", 3}}))) == -32602);
    CHECK_FALSE(c.initialized());
  }
}

TEST_CASE("before initialize only ping answers", "[mcp]") {
  RecordingTools tools;
  Connection c(tools);
  CHECK((*c.handle(request("p", "ping")))["result"] == json::object());
  CHECK(error_code(c.handle(request(2, "tools/list"))) == -32600);
  CHECK(error_code(c.handle(request(3, "tools/call", {{"name", "echo"}}))) == -32600);
  CHECK(tools.calls == 0);
}

TEST_CASE("JSON-RPC's error codes for malformed messages", "[mcp]") {
  RecordingTools tools;
  Connection c(tools);
  initialize(c);
  SECTION("not JSON: -32700 with a null id") {
    for (const char* text : {"{", "not json", "{\"jsonrpc\": \"2.0\", \"id\": 1,}", "\xff\xfe"}) {
      auto answer = c.handle_text(text);
      CHECK(error_code(answer) == -32700);
      CHECK((*answer)["id"].is_null());
    }
  }
  SECTION("not a JSON-RPC message: -32600") {
    for (const json& message :
         {json(42), json("text"), json(nullptr),
          json{{"jsonrpc", "1.0"}, {"id", 1}, {"method", "ping"}},
          json{{"id", 1}, {"method", "ping"}}, json{{"jsonrpc", "2.0"}, {"id", 1}},
          json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", 7}},
          json{{"jsonrpc", "2.0"}, {"id", json::object()}, {"method", "ping"}},
          json{{"jsonrpc", "2.0"}, {"id", nullptr}, {"method", "ping"}},
          json{{"jsonrpc", "2.0"}, {"id", 1.5}, {"method", "ping"}}}) {
      INFO(message.dump());
      CHECK(error_code(c.handle(message)) == -32600);
    }
  }
  SECTION("the id comes back as it was sent") {
    CHECK((*c.handle(request("a-string", "ping")))["id"] == "a-string");
    CHECK((*c.handle(request(-7, "ping")))["id"] == -7);
    CHECK((*c.handle(request(1, "ping")))["id"] == 1);  // ids may be reused once answered
  }
  SECTION("unknown methods: -32601; unknown notifications: ignored") {
    for (const char* method : {"resources/list", "prompts/list", "tools/delete", ""}) {
      INFO(method);
      CHECK(error_code(c.handle(request(4, method))) == -32601);
    }
    CHECK_FALSE(c.handle({{"jsonrpc", "2.0"}, {"method", "notifications/whatever"}}).has_value());
    CHECK_FALSE(
        c.handle({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}).has_value());
  }
  SECTION("invalid params: -32602") {
    CHECK(error_code(c.handle(request(5, "tools/list", json::array({1})))) == -32602);
    CHECK(error_code(c.handle(request(6, "tools/call", json::object()))) == -32602);
    CHECK(error_code(c.handle(request(7, "tools/call", {{"name", 3}}))) == -32602);
    CHECK(error_code(c.handle(request(8, "tools/call", {{"name", "echo"}, {"arguments", "x"}}))) ==
          -32602);
    auto unknown = c.handle(request(9, "tools/call", {{"name", "rm_rf"}}));
    CHECK(error_code(unknown) == -32602);
    CHECK((*unknown)["error"]["message"] == "Unknown tool: rm_rf");
    CHECK(tools.calls == 0);
  }
  SECTION("responses from the client are accepted silently") {
    CHECK_FALSE(c.handle({{"jsonrpc", "2.0"}, {"id", 1}, {"result", json::object()}}).has_value());
  }
}

TEST_CASE("tools/list and tools/call go to the toolbox", "[mcp]") {
  RecordingTools tools;
  Connection c(tools);
  initialize(c, "2025-06-18");
  auto list = *c.handle(request(1, "tools/list"));
  CHECK(list["result"]["tools"][0]["name"] == "echo");
  CHECK(list["result"]["tools"][0]["version"] == "2025-06-18");
  auto call = *c.handle(request(2, "tools/call", {{"name", "echo"}, {"arguments", {{"x", 1}}}}));
  CHECK(call["id"] == 2);
  CHECK(call["result"]["content"][0]["text"] == "{\"x\":1}");
  auto no_arguments = *c.handle(request(3, "tools/call", {{"name", "echo"}}));
  CHECK(no_arguments["result"]["content"][0]["text"] == "{}");
  CHECK(tools.calls == 2);
}

TEST_CASE("batches only where the negotiated version has them", "[mcp]") {
  const json batch = json::array({request(1, "ping"),
                                  {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}},
                                  request(2, "tools/list"),
                                  json(3)});
  SECTION("2025-03-26: answered item by item, notifications left out") {
    RecordingTools tools;
    Connection c(tools);
    initialize(c, "2025-03-26");
    auto answer = c.handle(batch);
    REQUIRE(answer.has_value());
    REQUIRE(answer->is_array());
    REQUIRE(answer->size() == 3);
    CHECK((*answer)[0]["id"] == 1);
    CHECK((*answer)[1]["result"]["tools"].is_array());
    CHECK((*answer)[2]["error"]["code"] == -32600);
    CHECK(error_code(c.handle(json::array())) == -32600);
    CHECK_FALSE(
        c.handle(json::array({{{"jsonrpc", "2.0"}, {"method", "notifications/x"}}})).has_value());
  }
  SECTION("2025-06-18 and later: a batch is one invalid request") {
    for (const char* version : {"2025-06-18", "2025-11-25"}) {
      RecordingTools tools;
      Connection c(tools);
      initialize(c, version);
      auto answer = c.handle(batch);
      CHECK(error_code(answer) == -32600);
      CHECK((*answer)["id"].is_null());
    }
  }
  SECTION("before initialize: refused, initialize may not be batched") {
    RecordingTools tools;
    Connection c(tools);
    CHECK(error_code(c.handle(json::array(
              {request(1, "initialize", {{"protocolVersion", "2025-03-26"}})}))) == -32600);
    CHECK_FALSE(c.initialized());
  }
}

TEST_CASE("notifications/cancelled stops the call it names, which is then not answered", "[mcp]") {
  RecordingTools tools;
  Connection c(tools);
  initialize(c);
  auto pending = std::async(std::launch::async, [&] {
    return c.handle(request("slow", "tools/call", {{"name", "block"}}));
  });
  tools.wait_started();
  // Meanwhile the connection answers others, and refuses the id in use.
  CHECK((*c.handle(request(1, "ping")))["result"] == json::object());
  CHECK(error_code(c.handle(request("slow", "tools/call", {{"name", "echo"}}))) == -32600);
  // A cancellation of an unknown or malformed id changes nothing.
  c.handle(
      {{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 99}}}});
  c.handle({{"jsonrpc", "2.0"},
            {"method", "notifications/cancelled"},
            {"params", {{"requestId", json::array()}}}});
  CHECK(tools.cancels == 0);
  c.handle({{"jsonrpc", "2.0"},
            {"method", "notifications/cancelled"},
            {"params", {{"requestId", "slow"}, {"reason", "user"}}}});
  CHECK_FALSE(pending.get().has_value());
  CHECK(tools.cancels == 1);
}
