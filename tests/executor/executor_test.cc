// decide_outcome: how what was observed of a run becomes its status and error text.

#include "core/executor/executor.h"

#include <signal.h>

#include <catch2/catch.hpp>

namespace {

using pyrunner::Outcome;
using pyrunner::RunEnding;
using pyrunner::RunResult;

RunResult decided(const RunEnding& ending) {
  pyrunner::RunRequest request;
  request.timeout_s = 2;
  request.memory_mb = 256;
  RunResult result;
  pyrunner::decide_outcome(ending, request, &result);
  return result;
}

}  // namespace

TEST_CASE("a client's interrupt is an error of its own text, never a timeout", "[executor]") {
  // A session run's KeyboardInterrupt, reported by the runner.
  RunEnding stopped;
  stopped.interrupted = true;
  stopped.exit_code = 1;
  stopped.record_present = true;
  stopped.record_error = "KeyboardInterrupt";
  auto r = decided(stopped);
  CHECK(r.outcome == Outcome::kError);
  CHECK(r.error == "Interrupted by the client");
  // Code that caught it and finished, or a run killed for it (one-off, or past the grace).
  RunEnding finished;
  finished.interrupted = true;
  finished.record_present = true;
  CHECK(decided(finished).error == "Interrupted by the client");
  RunEnding killed;
  killed.interrupted = true;
  killed.killed = true;
  killed.exit_code = -SIGKILL;
  CHECK(decided(killed).outcome == Outcome::kError);
  CHECK(decided(killed).error == "Interrupted by the client");
  // The timeout came first: a timeout it stays.
  RunEnding both;
  both.timed_out = both.interrupted = true;
  CHECK(decided(both).outcome == Outcome::kTimeout);
  CHECK(decided(both).error == "Execution timed out after 2 s");
  // Without an interrupt nothing changes.
  RunEnding plain;
  plain.killed = true;
  plain.exit_code = -SIGKILL;
  CHECK(decided(plain).error == "Killed by signal SIGKILL");
}
