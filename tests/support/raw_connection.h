#pragma once
// A raw TCP client of a test server on 127.0.0.1, for what a client library would not send:
// trickled or unfinished requests, clients that hang up or stop reading, invalid request lines.

#include <chrono>
#include <functional>
#include <string>

namespace pyrunner::testing {

class RawConnection {
 public:
  /// Connects to 127.0.0.1:`port`. `receive_buffer` > 0 sets SO_RCVBUF first (a client that
  /// reads slowly fills a small buffer soon).
  explicit RawConnection(int port, int receive_buffer = 0);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  bool send_all(const std::string& data);
  /// A POST of `body` (JSON text) to `path` with this Accept header.
  bool post(const std::string& path, const std::string& body, const std::string& accept);
  /// Whether the server has answered or closed its side, without waiting.
  bool answered_or_closed() const;
  /// What arrives from now until `done(what arrived)` holds, the server closes, or `limit`
  /// passes (a broken server must not hang the suite).
  std::string read_until(const std::function<bool(const std::string&)>& done,
                         std::chrono::seconds limit = std::chrono::seconds(60));
  /// Whether `text` arrives (within the limit of read_until).
  bool read_until(const std::string& text);
  /// Everything until the server closes (a request with "Connection: close") or 60 s pass.
  std::string read_to_close();
  void close();

 private:
  int fd_;
  bool connected_ = false;
};

/// The status code of a raw HTTP/1.x response, 0 if it is not one.
int status_of_raw(const std::string& response);
/// What follows the head of a raw response.
std::string body_of_raw(const std::string& response);

}  // namespace pyrunner::testing
