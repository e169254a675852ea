// The reception against the real server: slow and idle clients cost no thread and are cut off
// by server.read_timeout; HTTP/1.1 framing (100-continue, chunked bodies, pipelining) still
// works now that the reception, not cpp-httplib, reads requests off the socket.

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <sstream>
#include <thread>

#include "support/harness.h"
#include "support/raw_connection.h"

namespace {

using namespace pyrunner::testing;
using namespace std::chrono_literals;
using nlohmann::json;

std::string light(const std::string& yaml) { return yaml + "python:\n  preload: []\n"; }

// Whether `answer` holds `n` complete responses with Content-Length bodies.
size_t complete_answers(const std::string& answer) {
  size_t count = 0, at = 0;
  for (;;) {
    const size_t head_end = answer.find("\r\n\r\n", at);
    if (head_end == std::string::npos) return count;
    const size_t cl = answer.find("Content-Length: ", at);
    if (cl == std::string::npos || cl > head_end) return count;
    const size_t len = static_cast<size_t>(std::atol(answer.c_str() + cl + 16));
    if (answer.size() < head_end + 4 + len) return count;
    at = head_end + 4 + len;
    ++count;
  }
}

std::string post_head(size_t content_length, const std::string& extra = "") {
  return "POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + extra +
         "Content-Length: " + std::to_string(content_length) + "\r\n\r\n";
}

}  // namespace

TEST_CASE("200 slow and idle sockets neither hold threads nor delay a print(1)", "[reception]") {
  // Eight worker threads and a read_timeout far beyond the test: the slow sockets are still
  // there, unanswered, when print(1) is served.
  TestServer s(light("server:\n  threads: 8\n  read_timeout: 600\n"));
  const std::string body = json{{"code", "print(1)"}}.dump();
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 200; ++i) {
    auto c = std::make_unique<RawConnection>(s.port());
    REQUIRE(c->connected());
    switch (i % 4) {
      case 0:  // one header line, then nothing (slowloris)
        REQUIRE(c->send_all("POST /run HTTP/1.1\r\n"));
        break;
      case 1:  // headers, and half the body
        REQUIRE(c->send_all(post_head(body.size()) + body.substr(0, body.size() / 2)));
        break;
      case 2:  // a few bytes of a request line
        REQUIRE(c->send_all("GE"));
        break;
      default:  // a head without its blank line
        REQUIRE(c->send_all("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
        break;
    }
    slow.push_back(std::move(c));
  }
  // Every slow socket has been taken in by the reception: they wait there, threadless.
  REQUIRE(eventually(
      [&] {
        auto m = s.get("/metrics").body;
        return metric(m, "pyrunner_http_connections{state=\"receiving\"}").value_or(0) >= 200;
      },
      60s));

  auto r = s.run("print(1)");
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.json()["stdout"] == "1\n");
  const auto m = s.get("/metrics").body;
  CHECK(metric(m, "pyrunner_http_threads").value_or(99) <= 8);
  // None of them was answered or cut off to make room.
  int untouched = 0;
  for (const auto& c : slow) untouched += c->answered_or_closed() ? 0 : 1;
  CHECK(untouched == 200);
}

TEST_CASE("server.read_timeout cuts off a trickled head and an unfinished body with 408",
          "[reception]") {
  TestServer s(light("server:\n  read_timeout: 2\n"));
  SECTION("headers a byte at a time: each read is quick, the request is not") {
    RawConnection c(s.port());
    REQUIRE(c.connected());
    const std::string head = "POST /run HTTP/1.1\r\nX-Padding: " + std::string(200, 'a');
    // 200 bytes at 50 ms each would take 10 s: the server must not wait for them.
    size_t sent = 0;
    for (; sent < head.size() && !c.answered_or_closed(); ++sent) {
      c.send_all(head.substr(sent, 1));
      std::this_thread::sleep_for(50ms);  // the client's pace, not a synchronisation
    }
    CHECK(sent < head.size());
    const std::string answer = c.read_to_close();
    INFO(answer);
    CHECK(status_of_raw(answer) == 408);
    CHECK(json::parse(body_of_raw(answer))["detail"] ==
          "request: not received within server.read_timeout (2 s)");
    // No request line was whole: counted as "other".
    CHECK(metric(s.get("/metrics").body,
                 "pyrunner_http_requests_total{route=\"other\",code=\"408\"}") == 1.0);
  }
  SECTION("a body that never finishes") {
    RawConnection c(s.port());
    REQUIRE(c.connected());
    REQUIRE(c.send_all(post_head(1000) + "{\"code\": \"pri"));
    const std::string answer = c.read_to_close();
    INFO(answer);
    CHECK(status_of_raw(answer) == 408);
    // Counted with the route's other answers.
    CHECK(metric(s.get("/metrics").body,
                 "pyrunner_http_requests_total{route=\"/run\",code=\"408\"}") == 1.0);
  }
  auto r = s.run("print(2)");
  CHECK(r.status == 200);
}

TEST_CASE("Expect: 100-continue, chunked bodies and pipelined requests", "[reception]") {
  TestServer s(light(""));
  const std::string body = json{{"code", "print('hi')"}}.dump();
  SECTION("100 Continue once, then the answer") {
    RawConnection c(s.port());
    REQUIRE(c.send_all(post_head(body.size(), "Expect: 100-continue\r\n")));
    const std::string go = c.read_until(
        [](const std::string& got) { return got.find("\r\n\r\n") != std::string::npos; });
    REQUIRE(go == "HTTP/1.1 100 Continue\r\n\r\n");
    REQUIRE(c.send_all(body));
    const std::string answer =
        c.read_until([](const std::string& got) { return complete_answers(got) == 1; });
    INFO(answer);
    CHECK(status_of_raw(answer) == 200);
    CHECK(json::parse(body_of_raw(answer))["stdout"] == "hi\n");
  }
  SECTION("a body over max_body_bytes with Expect is refused before it is sent") {
    RawConnection c(s.port());
    REQUIRE(c.send_all(post_head(20 << 20, "Expect: 100-continue\r\n")));
    const std::string answer = c.read_to_close();
    INFO(answer);
    CHECK(status_of_raw(answer) == 413);
  }
  SECTION("a chunked body") {
    RawConnection c(s.port());
    std::ostringstream chunked;
    chunked << std::hex << 5 << "\r\n"
            << body.substr(0, 5) << "\r\n"
            << body.size() - 5 << "\r\n"
            << body.substr(5) << "\r\n0\r\n\r\n";
    REQUIRE(
        c.send_all("POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n" +
                   chunked.str()));
    const std::string answer =
        c.read_until([](const std::string& got) { return complete_answers(got) == 1; });
    INFO(answer);
    CHECK(status_of_raw(answer) == 200);
    CHECK(json::parse(body_of_raw(answer))["stdout"] == "hi\n");
  }
  SECTION("two requests in one send: two answers, in order") {
    RawConnection c(s.port());
    const std::string second = json{{"code", "print('second')"}}.dump();
    REQUIRE(c.send_all(post_head(body.size()) + body + post_head(second.size()) + second));
    const std::string answer =
        c.read_until([](const std::string& got) { return complete_answers(got) == 2; });
    INFO(answer);
    REQUIRE(complete_answers(answer) == 2);
    const size_t first_end = answer.find("hi\\n");
    const size_t second_at = answer.find("second\\n");
    CHECK(first_end != std::string::npos);
    CHECK(second_at != std::string::npos);
    CHECK(first_end < second_at);
  }
  SECTION("ambiguous framing is refused, and the server goes on") {
    RawConnection c(s.port());
    REQUIRE(c.send_all(
        "POST /run HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
    const std::string answer = c.read_to_close();
    CHECK(status_of_raw(answer) == 400);
    CHECK(json::parse(body_of_raw(answer))["detail"] ==
          "request: Content-Length and Transfer-Encoding together are not accepted");
    CHECK(s.run("print(3)").status == 200);
  }
}
