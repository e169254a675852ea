#include "core/util/process.h"

#include <signal.h>

#include <catch2/catch.hpp>
#include <string>

#include "support/harness.h"

namespace {

// The signal set `field` (SigBlk, SigIgn) of a /proc/PID/status text; all ones if absent.
unsigned long long signal_set(const std::string& status, const std::string& field) {
  auto at = status.find(field + ":\t");
  if (at == std::string::npos) return ~0ULL;
  return std::stoull(status.substr(at + field.size() + 2, 16), nullptr, 16);
}

// Signals 1-31. glibc's posix_spawn leaves its own two real-time signals (32, 33) ignored in
// every child it starts, which the new program's glibc takes over as it needs them.
constexpr unsigned long long kStandardSignals = 0x7fffffffULL;

}  // namespace

TEST_CASE("spawn_clean starts a program with no blocked and no ignored signals", "[util]") {
  // As `serve` does before it spawns the zygote: SIGTERM and SIGINT blocked, SIGPIPE ignored.
  // In a child of its own: the test process must keep its own signal state.
  int code = pyrunner::testing::in_forked_child([] {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, nullptr);
    signal(SIGPIPE, SIG_IGN);
    auto out = pyrunner::capture_output({"/usr/bin/cat", "/proc/self/status"}, {}, 10000);
    if (!out.ok()) return 2;
    if (signal_set(out.value(), "SigBlk") != 0) return 3;
    if ((signal_set(out.value(), "SigIgn") & kStandardSignals) != 0) return 4;
    return 0;
  });
  CHECK(code == 0);  // 3: signals still blocked, 4: still ignored
}
