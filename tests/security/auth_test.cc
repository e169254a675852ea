// The key check as an attacker sees it: ways to reach a protected route without a valid key
// (spellings of the path, of the headers, the key in other places, requests smuggled behind a
// keyed one on the same connection) must all end without a run. And a key in the server's
// environment or its keys file never reaches a run.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "support/harness.h"

namespace {

using namespace pyrunner::testing;
using namespace std::chrono_literals;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kKey = "k3y-canary-5e1f0c";
constexpr const char* kConfig = "policy: {enabled: false}\npython: {preload: []}\n";

// Sends `raw` bytes on a fresh connection and returns everything the server answers until it
// closes or stays quiet.
std::string converse(int port, const std::string& raw) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      send(fd, raw.data(), raw.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(raw.size())) {
    // A bound on a quiet connection, not a timing check: each answer here is immediate.
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 3000) != 1) break;
      char buf[8192];
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

std::string post_run(const std::string& target, const std::string& extra_headers,
                     const std::string& code = "print('RAN')") {
  const std::string body = "{\"code\": \"" + code + "\"}";
  return "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers +
         "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("no way past the key check", "[security][serve][access]") {
  TestServer s(kConfig, {std::string("PYRUNNER_API_KEYS=") + kKey});
  const int port = s.port();

  SECTION("spellings of a protected path") {
    for (const char* target :
         {"/run", "/run?api_key=x", "//run", "/./run", "/run/", "/RUN", "/%72un", "/run%00",
          "/sessions/../run", "/run#frag", "http://127.0.0.1/run", "/run;x", "/openapi.json/../run",
          "/?/run", "/%2e/run"}) {
      const auto answer = converse(port, post_run(target, ""));
      INFO(target << " -> " << answer.substr(0, 300));
      CHECK(answer.find("RAN") == std::string::npos);
      CHECK(answer.rfind("HTTP/1.1 200", 0) != 0);
    }
  }

  SECTION("the key in the wrong place or the wrong form") {
    for (const std::string& headers :
         {std::string("Authorization: Basic ") + kKey + "\r\n",
          std::string("Authorization: Token ") + kKey + "\r\n",
          std::string("Authorization: Bearer") + "\r\n",
          std::string("Authorization: Bearer ") + std::string(kKey).substr(0, 10) + "\r\n",
          std::string("Authorization: Bearer ") + kKey + "x\r\n",
          std::string("Authorization: Bearer ") + kKey + std::string(1, '\0') + "\r\n",
          std::string("Authorization: Bearer wrong\r\nX-API-Key: ") + kKey + "\r\n",
          std::string("Cookie: api_key=") + kKey + "\r\n",
          std::string("X-Forwarded-User: admin\r\nX-Real-IP: 127.0.0.1\r\n"),
          std::string("X-HTTP-Method-Override: GET\r\n")}) {
      const auto answer = converse(port, post_run("/run", headers));
      INFO(headers << " -> " << answer.substr(0, 300));
      CHECK(answer.rfind("HTTP/1.1 401", 0) == 0);
      CHECK(answer.find("RAN") == std::string::npos);
    }
    // A GET that claims to be the health route in a header is still what its line says.
    const auto answer = converse(port, post_run("/run?path=/", "X-Original-URL: /\r\n"));
    CHECK(answer.rfind("HTTP/1.1 401", 0) == 0);
  }

  SECTION("a request smuggled behind a keyed one on the same connection") {
    // Pipelined: the first has the key, the second does not. Each is checked on its own.
    const std::string two =
        post_run("/run", std::string("X-API-Key: ") + kKey + "\r\n", "print('FIRST')") +
        post_run("/run", "", "print('SECOND')");
    const auto answer = converse(port, two);
    INFO(answer.substr(0, 1500));
    CHECK(answer.find("FIRST") != std::string::npos);
    CHECK(answer.find("SECOND") == std::string::npos);
    CHECK(answer.find("HTTP/1.1 401") != std::string::npos);
    // A body that says it is shorter than it is: the rest is a request without a key.
    const std::string body = R"J({"code": "print('FIRST')"})J";
    const std::string hidden = post_run("/run", "", "print('HIDDEN')");
    const std::string lie =
        std::string("POST /run HTTP/1.1\r\nHost: x\r\nX-API-Key: ") + kKey +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body + hidden;
    const auto answer2 = converse(port, lie);
    INFO(answer2.substr(0, 1500));
    CHECK(answer2.find("HIDDEN") == std::string::npos);
  }

  SECTION("the key reaches no run: not its environment, not the keys file, not memory") {
    s.set_default_headers({{"X-API-Key", kKey}});
    const std::string scan = R"PY(
import os, glob
found = []
if any("k3y-canary" in v for v in os.environ.values()): found.append("environ")
for p in glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline"):
    try:
        if b"k3y-canary" in open(p, "rb").read(): found.append(p)
    except OSError:
        pass
print("FOUND" if found else "CLEAN", found)
)PY";
    auto r = s.run(scan);
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(r.json()["stdout"].get<std::string>().rfind("CLEAN", 0) == 0);
  }
}
