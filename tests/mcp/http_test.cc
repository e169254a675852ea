// MCP's streamable HTTP transport at /mcp on a real server: sessions by Mcp-Session-Id, every
// status the OpenAPI document lists (their producers are registered here), Origin checks, the
// session cap, and a client that hangs up mid-call.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/mcp_client.h"
#include "support/openapi_producers.h"
#include "support/pool_probe.h"

namespace pyrunner::testing {
pid_t session_child_with(pid_t parent, const std::string& marker);  // stdio_test.cc
}

namespace {

using namespace pyrunner::testing;
using nlohmann::json;
using namespace std::chrono_literals;

const TestServer& server() {
  static TestServer s("python:\n  preload: [numpy]\n");
  return s;
}

// Origins restricted, one session at most: for 403 and 429.
const TestServer& strict_server() {
  static TestServer s(
      "server:\n  cors_origins: [\"http://good.example\"]\nsessions:\n  max_sessions: 1\n"
      "python:\n  preload: []\n");
  return s;
}

const HttpMcp::Headers kSpecHeaders = {{"Content-Type", "application/json"},
                                       {"Accept", "application/json, text/event-stream"}};

std::string initialize_body() {
  return rpc_request(1, "initialize",
                     {{"protocolVersion", kMcpVersion},
                      {"capabilities", json::object()},
                      {"clientInfo", {{"name", "t"}, {"version", "1"}}}})
      .dump();
}

HttpResponse post(const TestServer& s, const std::string& body,
                  HttpMcp::Headers headers = kSpecHeaders) {
  return http_request(s.port(), "POST", "/mcp", body, headers);
}

int rpc_code(const HttpResponse& r) {
  auto j = json::parse(r.body, nullptr, false);
  INFO(r.status << " " << r.body);
  REQUIRE(j.is_object());
  REQUIRE(j.contains("error"));
  return j["error"]["code"];
}

// The strict server's one session is taken while this lives.
struct TakenSlot {
  TakenSlot() : mcp(strict_server()) {}
  ~TakenSlot() { mcp.end(); }
  HttpMcp mcp;
};

const RegisterProducers kProducers({
    {"POST /mcp 200", [](const TestServer& s) { return post(s, initialize_body()); }},
    {"POST /mcp 202",
     [](const TestServer& s) {
       HttpMcp mcp(s);
       auto r = mcp.post(json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}.dump());
       mcp.end();
       return r;
     }},
    {"POST /mcp 400", [](const TestServer& s) { return post(s, rpc_request(1, "ping").dump()); }},
    {"POST /mcp 403",
     [](const TestServer&) {
       auto h = kSpecHeaders;
       h.emplace_back("Origin", "http://evil.example");
       return post(strict_server(), initialize_body(), h);
     }},
    {"POST /mcp 404",
     [](const TestServer& s) {
       auto h = kSpecHeaders;
       h.emplace_back("Mcp-Session-Id", "0123456789abcdef0123456789abcdef");
       return post(s, rpc_request(1, "ping").dump(), h);
     }},
    {"POST /mcp 406",
     [](const TestServer& s) {
       return post(s, initialize_body(), {{"Accept", "text/event-stream"}});
     }},
    {"POST /mcp 413",
     [](const TestServer& s) { return post(s, std::string((10 << 20) + 1, ' ')); }},
    {"POST /mcp 429",
     [](const TestServer&) {
       TakenSlot taken;
       return post(strict_server(), initialize_body());
     }},
    {"GET /mcp 405",
     [](const TestServer& s) {
       return http_request(s.port(), "GET", "/mcp", "", {{"Accept", "text/event-stream"}});
     }},
    {"DELETE /mcp 204",
     [](const TestServer& s) {
       HttpMcp mcp(s);
       return http_request(s.port(), "DELETE", "/mcp", "", {{"Mcp-Session-Id", mcp.session_id()}});
     }},
    {"DELETE /mcp 400",
     [](const TestServer& s) { return http_request(s.port(), "DELETE", "/mcp", "", {}); }},
    {"DELETE /mcp 403",
     [](const TestServer&) {
       return http_request(strict_server().port(), "DELETE", "/mcp", "",
                           {{"Mcp-Session-Id", "x"}, {"Origin", "http://evil.example"}});
     }},
    {"DELETE /mcp 404",
     [](const TestServer& s) {
       return http_request(s.port(), "DELETE", "/mcp", "", {{"Mcp-Session-Id", "nope"}});
     }},
});

// A POST on a socket of our own, to hang up on the server while it runs.
int raw_post(int port, const std::string& session, const std::string& body) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
  const std::string request =
      "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
      "application/json\r\nAccept: application/json, text/event-stream\r\n"
      "Mcp-Session-Id: " +
      session + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) return -1;
  return fd;
}

}  // namespace

TEST_CASE("/mcp: a session by Mcp-Session-Id, state across calls, DELETE ends it", "[mcp][serve]") {
  const auto& s = server();
  HttpMcp mcp(s);
  INFO(mcp.initialize_answer().body);
  REQUIRE(mcp.initialized());
  CHECK(mcp.session_id().size() == 32);
  auto init = json::parse(mcp.initialize_answer().body);
  CHECK(init["result"]["protocolVersion"] == kMcpVersion);
  CHECK(mcp.initialize_answer().headers.at("Content-Type").find("application/json") == 0);

  auto notified =
      mcp.post(json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}.dump());
  CHECK(notified.status == 202);
  CHECK(notified.body.empty());
  auto tools = mcp.request("tools/list");
  CHECK(tools["result"]["tools"].size() == 4);

  CHECK(mcp.call("run_python",
                 {{"code", "import numpy as np\na = np.ones(3)"}})["result"]["isError"] == false);
  auto sum = mcp.call("run_python", {{"code", "a.sum()"}});
  CHECK(result_text(sum["result"]) == "Out[2]: 3.0\n");
  // Its Python state is one pyrunner session, listed with the others.
  auto listed = s.get("/sessions").json()["sessions"];
  REQUIRE(listed.size() == 1);
  const std::string python_session = listed[0]["id"];
  CHECK(listed[0]["execution_count"] == 2);

  // Two MCP sessions share nothing.
  HttpMcp other(s);
  auto isolated =
      other.call("run_python",
                 {{"code", "try:\n    a\n    print(True)\nexcept NameError:\n    print(False)"}});
  CHECK(result_text(isolated["result"]) == "stdout:\nFalse\n\n");
  CHECK(other.end() == 204);

  CHECK(mcp.end() == 204);
  CHECK(s.get("/sessions/" + python_session).status == 410);
  auto after = mcp.post(rpc_request(9, "ping").dump());
  CHECK(after.status == 404);
  CHECK(rpc_code(after) == -32600);
  CHECK(mcp.end() == 404);
  CHECK(s.get("/sessions").json()["sessions"].empty());
}

TEST_CASE("/mcp: what the transport refuses", "[mcp][serve]") {
  const auto& s = server();
  SECTION("not JSON: 400 with a parse error") {
    auto r = post(s, "{\"jsonrpc\": ");
    CHECK(r.status == 400);
    CHECK(rpc_code(r) == -32700);
  }
  SECTION("no session id on anything but initialize: 400") {
    auto r = post(s, rpc_request(1, "tools/list").dump());
    CHECK(r.status == 400);
    CHECK(json::parse(r.body)["error"]["message"] ==
          "Bad Request: no Mcp-Session-Id header; a session starts with initialize");
  }
  SECTION("a refused initialize opens no session") {
    auto r = post(s, rpc_request(1, "initialize", {{"protocolVersion", 2025}}).dump());
    CHECK(r.status == 200);
    CHECK(rpc_code(r) == -32602);
    CHECK(r.headers.count("Mcp-Session-Id") == 0);
  }
  SECTION("an unsupported MCP-Protocol-Version header: 400") {
    HttpMcp mcp(s);
    auto h = kSpecHeaders;
    h.emplace_back("Mcp-Session-Id", mcp.session_id());
    h.emplace_back("MCP-Protocol-Version", "1999-01-01");
    auto r = post(s, rpc_request(2, "ping").dump(), h);
    CHECK(r.status == 400);
    CHECK(mcp.end() == 204);
  }
  SECTION("GET: 405, no server-initiated stream") {
    auto r = http_request(s.port(), "GET", "/mcp", "", {{"Accept", "text/event-stream"}});
    CHECK(r.status == 405);
    CHECK(r.headers["Allow"] == "POST, DELETE, OPTIONS");
  }
  SECTION("a batch under 2025-11-25: one invalid request; under 2025-03-26: answered") {
    HttpMcp now(s);
    auto r = now.post(json::array({rpc_request(2, "ping"), rpc_request(3, "ping")}).dump());
    CHECK(r.status == 200);
    CHECK(rpc_code(r) == -32600);
    CHECK(now.end() == 204);
    HttpMcp old(s, "2025-03-26");
    auto batch =
        old.post(json::array({rpc_request(2, "ping"), rpc_request(3, "tools/list")}).dump());
    auto answers = json::parse(batch.body);
    REQUIRE(answers.is_array());
    CHECK(answers.size() == 2);
    CHECK(old.end() == 204);
  }
}

TEST_CASE("/mcp: Origin is checked against server.cors_origins; sessions are capped",
          "[mcp][serve]") {
  const auto& s = strict_server();
  auto evil = post(s, initialize_body(), {{"Origin", "http://evil.example"}});
  CHECK(evil.status == 403);
  auto good = post(s, initialize_body(), {{"Origin", "http://good.example"}});
  CHECK(good.status == 200);
  REQUIRE(good.headers.count("Mcp-Session-Id") == 1);
  CHECK(good.headers["Access-Control-Expose-Headers"] == "Mcp-Session-Id");
  // max_sessions is 1: a second MCP session waits for the first to end.
  auto second = post(s, initialize_body());
  CHECK(second.status == 429);
  CHECK(second.headers.count("Retry-After") == 1);
  CHECK(http_request(s.port(), "DELETE", "/mcp", "",
                     {{"Mcp-Session-Id", good.headers["Mcp-Session-Id"]}})
            .status == 204);
  HttpMcp next(s);
  CHECK(next.initialized());
  CHECK(next.end() == 204);
}

TEST_CASE("/mcp: a client that hangs up mid-call: its run and sandbox end, the server goes on",
          "[mcp][serve]") {
  const auto& s = server();
  HttpMcp mcp(s);
  REQUIRE(mcp.initialized());
  CHECK(result_text(mcp.call("run_python", {{"code", "v = 1"}})["result"]) == "(no output)\n");
  const int fd = raw_post(
      s.port(), mcp.session_id(),
      rpc_request(
          5, "tools/call",
          {{"name", "run_python"},
           {"arguments", {{"code", "open('hung', 'w').close()\nimport time\ntime.sleep(120)"}}}})
          .dump());
  REQUIRE(fd >= 0);
  pid_t child = 0;
  REQUIRE(eventually([&] { return (child = session_child_with(s.pid(), "hung")) > 0; }, 60s));
  close(fd);
  CHECK(eventually([&] { return s.get("/sessions").json()["sessions"].empty(); }, 30s));
  CHECK(
      eventually([&] { return !std::filesystem::exists("/proc/" + std::to_string(child)); }, 10s));
  // The MCP session itself goes on, in a new sandbox, and says so.
  auto next =
      mcp.call("run_python",
               {{"code", "try:\n    v\n    print(True)\nexcept NameError:\n    print(False)"}});
  const std::string text = result_text(next["result"]);
  INFO(text);
  CHECK(text.find("[a new session: the previous one ended (client disconnected)") !=
        std::string::npos);
  CHECK(text.find("stdout:\nFalse\n") != std::string::npos);
  CHECK(mcp.end() == 204);
  CHECK(s.get("/").status == 200);
}
