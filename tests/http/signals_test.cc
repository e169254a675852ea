// A pooled run gets signals as a fresh `python3` does: nothing blocked, so SIGTERM stops what
// the run starts. (`serve` blocks SIGTERM and SIGINT for itself; its zygote inherited that.)

#include <catch2/catch.hpp>

#include "support/harness.h"

using namespace pyrunner::testing;

TEST_CASE("a pooled run has no blocked signals and can terminate its subprocess", "[serve][pool]") {
  TestServer server("policy:\n  enabled: false\n");
  auto r = server.run(
      "import signal, subprocess\n"
      "print(sorted(s.name for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])))\n"
      "p = subprocess.Popen(['/usr/bin/sleep', '60'])\n"
      "p.terminate()\n"
      "print(p.wait(timeout=20))\n",
      {{"timeout", 30}});
  INFO(r.body);
  CHECK(r.json()["stdout"] == "[]\n-15\n");
}
