// Where a request ends: the reception hands a request to a thread only once it is whole, so
// every prefix of a request must be "incomplete" and the whole one "complete" at exactly its
// last byte; framing that two parsers could read differently is refused.

#include "core/http/framing.h"

#include <catch2/catch.hpp>
#include <string>

namespace {

using pyrunner::FramingLimits;
using pyrunner::RequestFrame;
using pyrunner::RequestFramer;
using State = RequestFrame::State;

// Feeds `request` one byte at a time; returns the frame once the whole of it has been seen,
// and checks that no shorter prefix was complete.
RequestFrame feed_bytewise(const std::string& request, FramingLimits limits = {}) {
  RequestFramer framer(limits);
  for (size_t n = 1; n < request.size(); ++n) {
    const auto& f = framer.examine(std::string_view(request).substr(0, n));
    INFO("prefix of " << n << " bytes");
    if (f.state != State::kIncomplete) return f;
  }
  return framer.examine(request);
}

}  // namespace

TEST_CASE("a request without a body ends at its blank line", "[framing]") {
  const std::string get = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  auto f = feed_bytewise(get);
  CHECK(f.state == State::kComplete);
  CHECK(f.size == get.size());
  CHECK(f.head_size == get.size());
  CHECK(f.method == "GET");
  CHECK(f.target == "/metrics");
}

TEST_CASE("a Content-Length body is whole at its last byte, and what follows is not in it",
          "[framing]") {
  const std::string body = "{\"code\": \"1+1\"}";
  const std::string post =
      "POST /run HTTP/1.1\r\ncontent-length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  auto f = feed_bytewise(post);
  REQUIRE(f.state == State::kComplete);
  CHECK(f.size == post.size());
  CHECK(f.content_length == body.size());
  // A pipelined request behind it.
  RequestFramer framer({});
  auto& g = framer.examine(post + "GET / HTTP/1.1\r\n\r\n");
  CHECK(g.state == State::kComplete);
  CHECK(g.size == post.size());
}

TEST_CASE("a chunked body ends after its last chunk and trailers", "[framing]") {
  const std::string head = "POST /run HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string body = "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
  auto f = feed_bytewise(head + body);
  REQUIRE(f.state == State::kComplete);
  CHECK(f.size == head.size() + body.size());
  CHECK(f.chunked);
  const std::string trailers = "0\r\nX-Checksum: 1\r\n\r\n";
  auto t = feed_bytewise(head + trailers);
  CHECK(t.state == State::kComplete);
  CHECK(t.size == head.size() + trailers.size());
}

TEST_CASE("Expect: 100-continue is noticed with the place of its name", "[framing]") {
  const std::string head =
      "POST /run HTTP/1.1\r\nHost: x\r\nexpect: 100-Continue\r\nContent-Length: 5\r\n\r\n";
  RequestFramer framer({});
  auto& f = framer.examine(head);
  CHECK(f.state == State::kIncomplete);
  REQUIRE(f.head_done());
  CHECK(f.expect_continue);
  CHECK(head.substr(f.expect_at, 6) == "expect");
}

TEST_CASE("framing two parsers could read differently is refused", "[framing]") {
  const auto state_of = [](const std::string& head) {
    RequestFramer framer({});
    return framer.examine(head + "\r\n");
  };
  const std::string line = "POST /run HTTP/1.1\r\n";
  struct Case {
    std::string headers, detail;
  };
  for (const auto& c : std::vector<Case>{
           {"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            "Content-Length and Transfer-Encoding together are not accepted"},
           {"Content-Length: 5\r\nContent-Length: 6\r\n",
            "Content-Length: given twice, differently"},
           {"Content-Length: -5\r\n", "Content-Length: not a length"},
           {"Content-Length: 5 5\r\n", "Content-Length: not a length"},
           {"Transfer-Encoding: gzip, chunked\r\n", "Transfer-Encoding: only chunked is accepted"},
           {"Host: x\r\n folded\r\n", "obsolete header line folding is not accepted"},
           {"no colon here\r\n", "malformed header line"},
       }) {
    INFO(c.headers);
    auto f = state_of(line + c.headers);
    CHECK(f.state == State::kBad);
    CHECK(f.detail == c.detail);
  }
  RequestFramer framer({});
  auto& f = framer.examine("GARBAGE\r\n\r\n");
  CHECK(f.state == State::kBad);
  CHECK(f.detail == "malformed request line");
}

TEST_CASE("heads and bodies beyond the limits are told apart", "[framing]") {
  FramingLimits limits;
  limits.max_head_bytes = 256;
  limits.max_body_bytes = 100;
  SECTION("a head that never ends") {
    RequestFramer framer(limits);
    std::string head = "GET / HTTP/1.1\r\n";
    while (head.size() <= 256) head += "X-Pad: aaaaaaaaaaaaaaaa\r\n";
    CHECK(framer.examine(head).state == State::kHeadTooLarge);
  }
  SECTION("a declared body over the limit is known from the head alone") {
    RequestFramer framer(limits);
    auto& f = framer.examine("POST /run HTTP/1.1\r\nContent-Length: 101\r\n\r\n");
    CHECK(f.state == State::kBodyTooLarge);
    CHECK(f.head_done());
    CHECK(f.content_length == 101);
  }
  SECTION("chunks adding up to more than the limit") {
    RequestFramer framer(limits);
    auto& f = framer.examine("POST /run HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" +
                             std::string(64, 'a') + "\r\n40\r\n");
    CHECK(f.state == State::kBodyTooLarge);
  }
  SECTION("a body at the limit is fine") {
    RequestFramer framer(limits);
    auto& f =
        framer.examine("POST /run HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'));
    CHECK(f.state == State::kComplete);
  }
}

TEST_CASE("a framer reset for the next request starts over", "[framing]") {
  RequestFramer framer({});
  CHECK(framer.examine("GET / HTTP/1.1\r\n\r\n").state == State::kComplete);
  framer.reset();
  CHECK(framer.examine("GET /metr").state == State::kIncomplete);
  CHECK(framer.examine("GET /metrics HTTP/1.1\r\n\r\n").target == "/metrics");
}
