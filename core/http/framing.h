#pragma once
/// Where an HTTP/1.1 request ends in the bytes received so far: the head (request line and
/// headers, up to the blank line), then a Content-Length body or a chunked one. Only the
/// framing: the reception (reception.h) uses it to know when a request is whole, so that a
/// thread is given to a request only once it has arrived; cpp-httplib then parses it for real.
/// Anything the two parsers could read differently (two Content-Lengths, Content-Length with
/// Transfer-Encoding, a Transfer-Encoding other than "chunked") is refused here.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pyrunner {

struct FramingLimits {
  size_t max_head_bytes = 64 << 10;  // request line and headers
  uint64_t max_body_bytes = 10 << 20;
};

/// What the bytes of one request amount to so far.
struct RequestFrame {
  enum class State {
    kIncomplete,    // more bytes needed
    kComplete,      // `size` bytes are the whole request
    kBodyTooLarge,  // the head is whole; its body would exceed max_body_bytes (413)
    kHeadTooLarge,  // no blank line within max_head_bytes (431)
    kBad,           // not HTTP framing we accept (400): `detail` says why
  };
  State state = State::kIncomplete;
  size_t head_size = 0;  // once the head is whole: its bytes, blank line included
  size_t size = 0;       // kComplete: head and body
  // Once the head is whole:
  std::string method;            // "POST"
  std::string target;            // "/run?x=1"
  uint64_t content_length = 0;   // the declared body (0 when chunked or absent)
  bool chunked = false;          // Transfer-Encoding: chunked
  bool expect_continue = false;  // Expect: 100-continue
  size_t expect_at = 0;          // where that header's name starts in the bytes
  std::string detail;            // kBad
  bool head_done() const { return head_size > 0; }
};

/// Examines one request's bytes as they grow; each call looks only at what is new (a body
/// trickled in one byte at a time costs linear work, not quadratic).
class RequestFramer {
 public:
  explicit RequestFramer(FramingLimits limits) : limits_(limits) {}

  /// `bytes`: everything received since the request began (a longer string each call, same
  /// prefix). Past a final state the same answer is repeated.
  const RequestFrame& examine(std::string_view bytes);
  const RequestFrame& frame() const { return frame_; }
  /// For the next request on the connection.
  void reset();

 private:
  void parse_head(std::string_view head);
  void scan_chunks(std::string_view bytes);

  FramingLimits limits_;
  RequestFrame frame_;
  size_t head_scanned_ = 0;   // bytes already searched for the blank line
  size_t chunk_at_ = 0;       // chunked: where the next chunk's size line starts
  uint64_t chunk_total_ = 0;  // chunked: data bytes so far
  bool in_trailers_ = false;  // chunked: after the last chunk, before the final blank line
};

}  // namespace pyrunner
