#include "support/openapi_producers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

namespace pyrunner::testing {
namespace {

std::map<std::string, Producer>& registry() {
  static auto* producers = new std::map<std::string, Producer>();
  return *producers;
}

}  // namespace

const std::map<std::string, Producer>& openapi_producers() { return registry(); }

RegisterProducers::RegisterProducers(std::vector<std::pair<std::string, Producer>> producers) {
  for (auto& [key, producer] : producers) registry().emplace(key, std::move(producer));
}

HeldRun::HeldRun(const TestServer& server) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
  const std::string body = R"json({"code": "import time\ntime.sleep(3600)", "timeout": 300})json";
  const std::string request =
      "POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  if (send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size()))
    return;
  running_ = eventually(
      [&] {
        auto h = server.get("/").json();
        return h.is_object() && h.contains("runs") && h["runs"].value("running", 0) >= 1;
      },
      std::chrono::seconds(30));
}

HeldRun::~HeldRun() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace pyrunner::testing
