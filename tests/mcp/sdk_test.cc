// pyrunner driven by the official MCP TypeScript SDK's client (npm @modelcontextprotocol/sdk,
// pinned by tests/mcp/package-lock.json, installed by `make mcp-client` under the build
// directory): over stdio (the SDK starts `pyrunner mcp`) and over streamable HTTP (/mcp of a
// real server), including a call the client cancels (its code interrupted, the session's state
// kept). tests/mcp/client.mjs reports what the client got; the assertions are here.

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/harness.h"

namespace {

using namespace pyrunner::testing;
using nlohmann::json;

std::string client_script() {
  return (std::filesystem::path(binary()).parent_path() / "mcp-client" / "client.mjs").string();
}

json drive(const std::vector<std::string>& args) {
  INFO("the SDK client is installed by `make mcp-client` (make test runs it)");
  REQUIRE(std::filesystem::exists(client_script()));
  std::vector<std::string> command = {"/usr/bin/env", "node", client_script()};
  command.insert(command.end(), args.begin(), args.end());
  auto p = run_process(command, "", {}, 300);
  INFO("exit " << p.exit_code << "\nstdout: " << p.out << "\nstderr: " << p.err.substr(0, 6000));
  REQUIRE(p.exit_code == 0);
  auto j = json::parse(p.out, nullptr, false);
  REQUIRE(j.is_object());
  return j;
}

void check_session(const json& j) {
  INFO(j.dump(2).substr(0, 6000));
  CHECK(j["server"]["name"] == "pyrunner");
  CHECK(j["capabilities"].contains("tools"));
  CHECK(j["instructions"].get<std::string>().find("no network") != std::string::npos);
  CHECK(j["ping"] == json::object());
  REQUIRE(j["tools"].size() == 4);
  CHECK(j["tools"][0]["name"] == "run_python");
  CHECK(j["tools"][0]["required"] == json{"code"});
  CHECK(j["tools"][0]["hasOutputSchema"] == true);  // and the SDK validated every result by it
  CHECK(j["tools"][0]["description"].get<std::string>().find("numpy ") != std::string::npos);
  CHECK(j["define"]["isError"] == false);
  CHECK(j["state"]["text"] == "stdout:\n36\n");
  CHECK(j["state"]["structured"]["status"] == "success");
  CHECK(j["state"]["structured"]["execution_count"] == 2);
  CHECK(j["cancel"]["reached"] == true);
  // The SDK's own rejection (an McpError with the reason): the server sent no answer to it.
  CHECK(j["cancel"]["outcome"].get<std::string>().find("the user pressed Stop") !=
        std::string::npos);
  // The same session after the cancel: what the interrupted code did before, not a new one.
  CHECK(j["afterCancel"]["text"] == "stdout:\n72\n");
  CHECK(j["afterCancel"]["isError"] == false);
  CHECK(j["figure"]["isError"] == false);
  CHECK(j["figure"]["images"] == json::array({{{"mimeType", "image/png"}, {"magic", "PNG"}}}));
  CHECK(j["error"]["isError"] == true);
  CHECK(j["error"]["status"] == "error");
  CHECK(j["error"]["text"].get<std::string>().find("KeyError: 'missing'") != std::string::npos);
  CHECK(j["badArgs"]["isError"] == true);
  CHECK(j["badArgs"]["text"] == "code: must be a string");
  CHECK(j["unknownTool"]["code"] == -32602);
  CHECK(j["files"]["files"] ==
        json::array({{{"path", "report.txt"}, {"size", 8}, {"mime", "text/plain"}}}));
  CHECK(j["readFile"] == json::array({{{"type", "text"}, {"text", "all good"}}}));
  CHECK(j["timing"]["calls"] == 20);
}

constexpr const char* kConfig = "python:\n  preload: [numpy, matplotlib, matplotlib.pyplot]\n";

}  // namespace

TEST_CASE("the official MCP SDK client over stdio: pyrunner mcp", "[mcp][sdk]") {
  auto config = config_file(kConfig);
  auto j = drive({"stdio", binary(), "--config", config.path()});
  check_session(j);
}

TEST_CASE("the official MCP SDK client over streamable HTTP: serve's /mcp", "[mcp][sdk][serve]") {
  TestServer s(kConfig);
  auto j = drive({"http", "http://127.0.0.1:" + std::to_string(s.port()) + "/mcp"});
  check_session(j);
  CHECK(j["protocolVersion"] == "2025-11-25");
  CHECK(j["sessionId"].get<std::string>().size() == 32);
  CHECK(j["terminated"].is_null());                      // DELETE /mcp ended it...
  CHECK(s.get("/sessions").json()["sessions"].empty());  // ...and its sandboxed session
}
