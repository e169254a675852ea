// `pyrunner serve` and `--help` as a newcomer meets them: a busy port is named at once, with
// its own exit code, before any sandbox or zygote work; internal subcommands are not listed.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "support/harness.h"

using namespace pyrunner::testing;

namespace {

// A loopback socket listening on a port the kernel picked; closed with the object.
class Listener {
 public:
  Listener() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(fd_, 1) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

}  // namespace

TEST_CASE("serve on a busy port names EADDRINUSE and exits 75 before warming up", "[cli]") {
  Listener busy;
  const std::string where = "127.0.0.1:" + std::to_string(busy.port());
  auto p = run_process({binary(), "serve", "--port", std::to_string(busy.port())});
  CHECK(p.exit_code == 75);
  INFO(p.err);
  CHECK(p.err.find("cannot listen on " + where + ": bind: EADDRINUSE (Address already in use)") !=
        std::string::npos);
  // Nothing else happened first: no sandbox check, no zygote, no library probe.
  CHECK(p.err.find("sandbox:") == std::string::npos);
  CHECK(std::count(p.err.begin(), p.err.end(), '\n') == 1);
}

TEST_CASE("--help lists run and serve, not the internal zygote", "[cli]") {
  auto help = run_process({binary(), "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("run ") != std::string::npos);
  CHECK(help.out.find("serve ") != std::string::npos);
  CHECK(help.out.find("zygote") == std::string::npos);
  // serve still starts it by name.
  CHECK(run_process({binary(), "zygote", "--help"}).exit_code == 0);
}
