#include "support/raw_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace pyrunner::testing {

RawConnection::RawConnection(int port, int receive_buffer)
    : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  if (receive_buffer > 0)
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

RawConnection::~RawConnection() { close(); }

bool RawConnection::send_all(const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool RawConnection::post(const std::string& path, const std::string& body,
                         const std::string& accept) {
  return send_all(
      "POST " + path +
      " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: " + accept +
      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
}

bool RawConnection::answered_or_closed() const {
  pollfd p{fd_, POLLIN | POLLRDHUP, 0};
  return poll(&p, 1, 0) == 1;
}

std::string RawConnection::read_until(const std::function<bool(const std::string&)>& done,
                                      std::chrono::seconds limit) {
  std::string out;
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done(out) && std::chrono::steady_clock::now() < end) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 1000) != 1) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool RawConnection::read_until(const std::string& text) {
  const auto has = [&](const std::string& got) { return got.find(text) != std::string::npos; };
  return has(read_until(has));
}

std::string RawConnection::read_to_close() {
  return read_until([](const std::string&) { return false; });
}

void RawConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int status_of_raw(const std::string& response) {
  // "HTTP/1.1 404 Not Found\r\n..."
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.c_str() + 9);
}

std::string body_of_raw(const std::string& response) {
  const auto pos = response.find("\r\n\r\n");
  return pos == std::string::npos ? "" : response.substr(pos + 4);
}

}  // namespace pyrunner::testing
