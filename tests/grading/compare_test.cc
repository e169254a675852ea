// The compare modes, diffs and verdicts, on their own.

#include "core/grading/compare.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "core/grading/parallel.h"
#include "core/grading/verdict.h"

namespace {

using namespace pyrunner;
using namespace pyrunner::grading;

bool same(std::string_view expected, std::string_view got, CompareMode mode, double tol = 1e-6) {
  return compare_output(expected, got, mode, tol).equal;
}

}  // namespace

TEST_CASE("trim is Judge0's rule: lines right-stripped, trailing empty lines dropped",
          "[grading]") {
  CHECK(judge0_trim("3\n") == "3");
  CHECK(judge0_trim("a  \r\nb\t\n\n\n  \n") == "a\nb");
  CHECK(judge0_trim("  a\n\n b") == "  a\n\n b");        // leading space and inner blank lines stay
  CHECK(judge0_trim(std::string("x\0\0\n", 4)) == "x");  // Ruby's rstrip drops NUL too
  CHECK(judge0_trim("") == "");
  CHECK(same("3", "3\n", CompareMode::kTrim));
  CHECK(same("a\nb\n", "a  \nb\n\n\n", CompareMode::kTrim));
  CHECK_FALSE(same("a\nb", " a\nb", CompareMode::kTrim));
  CHECK_FALSE(same("a\n\nb", "a\nb", CompareMode::kTrim));
  auto c = compare_output("1\n5\n", "1\n4\n", CompareMode::kTrim);
  REQUIRE_FALSE(c.equal);
  REQUIRE(c.diff);
  CHECK(c.diff->line == 2);
  CHECK(c.diff->expected == "5");
  CHECK(c.diff->got == "4");
  auto shorter = compare_output("1\n2\n", "1\n", CompareMode::kTrim);
  REQUIRE(shorter.diff);
  CHECK(shorter.diff->line == 2);
  CHECK(shorter.diff->expected == "2");
  CHECK_FALSE(shorter.diff->got.has_value());  // the output has ended
}

TEST_CASE("exact compares bytes; its diff shows line ends", "[grading]") {
  CHECK(same("3\n", "3\n", CompareMode::kExact));
  auto c = compare_output("3", "3\n", CompareMode::kExact);
  REQUIRE_FALSE(c.equal);
  CHECK(c.diff->line == 1);
  CHECK(c.diff->expected == "3");
  CHECK(c.diff->got == "3\n");
  CHECK_FALSE(same("a \n", "a\n", CompareMode::kExact));
}

TEST_CASE("tokens ignores how whitespace is laid out", "[grading]") {
  CHECK(same("1 2 3", "1\n2\t 3\n\n", CompareMode::kTokens));
  CHECK_FALSE(same("1 2 3", "1 2", CompareMode::kTokens));
  auto c = compare_output("1 2\n3", "1 2\n\n4 5", CompareMode::kTokens);
  REQUIRE(c.diff);
  CHECK(c.diff->line == 3);  // the line of the output where the first wrong token is
  CHECK(c.diff->expected == "3");
  CHECK(c.diff->got == "4");
  CHECK_FALSE(same("1.0", "1", CompareMode::kTokens));
}

TEST_CASE("numbers: numeric tokens equal within an absolute or relative tolerance", "[grading]") {
  CHECK(same("3.14159265", "3.1415927", CompareMode::kNumbers));
  CHECK(same("1 2.0 3e2", "1.0 2 300", CompareMode::kNumbers));
  CHECK(same("1000000", "1000000.5", CompareMode::kNumbers));  // relative: 5e-7
  CHECK_FALSE(same("1", "1.01", CompareMode::kNumbers));
  CHECK(same("1", "1.01", CompareMode::kNumbers, 0.05));
  CHECK_FALSE(same("1 x", "1 y", CompareMode::kNumbers));  // words compare exactly
  CHECK_FALSE(same("0x10", "16", CompareMode::kNumbers));  // hex is a word
  CHECK_FALSE(same("nan", "nan0", CompareMode::kNumbers));
  CHECK(same("nan", "nan", CompareMode::kNumbers));  // as words
  CHECK(same("1e", "1e", CompareMode::kNumbers));    // identical words match
  auto c = compare_output("0.5 2", "0.5 2.1", CompareMode::kNumbers);
  REQUIRE(c.diff);
  CHECK(c.diff->expected == "2");
  CHECK(c.diff->got == "2.1");
}

TEST_CASE("output that is not UTF-8 compares byte-wise and is shown with U+FFFD", "[grading]") {
  const std::string bytes = "caf\xe9\n";  // Latin-1, not UTF-8
  CHECK(same(bytes, bytes, CompareMode::kExact));
  CHECK(same(bytes, bytes, CompareMode::kTrim));
  auto c = compare_output("caf\xc3\xa9\n", bytes, CompareMode::kTrim);  // "café" in UTF-8
  REQUIRE_FALSE(c.equal);
  CHECK(c.diff->expected == "caf\xc3\xa9");
  CHECK(c.diff->got == "caf\xef\xbf\xbd");  // the byte replaced for display only
  CHECK_FALSE(same("\xef\xbf\xbd", "\xff", CompareMode::kExact));
}

TEST_CASE("a diff line is cut for display", "[grading]") {
  const std::string longer(5000, 'a');
  auto c = compare_output(longer, longer + "b", CompareMode::kTrim);
  REQUIRE(c.diff);
  CHECK(c.diff->got->size() < 300);
  CHECK(c.diff->got->rfind("…") == c.diff->got->size() - std::string("…").size());
}

TEST_CASE("compare mode names", "[grading]") {
  for (const char* name : {"trim", "exact", "tokens", "numbers"}) {
    auto mode = compare_mode_from_name(name);
    REQUIRE(mode);
    CHECK(compare_mode_name(*mode) == name);
  }
  CHECK_FALSE(compare_mode_from_name("Trim"));
  CHECK_FALSE(compare_mode_from_name(""));
}

TEST_CASE("verdicts follow the outcome; a success is compared", "[grading]") {
  RunResult r;
  r.outcome = Outcome::kSuccess;
  r.stdout_text = "4\n";
  CHECK(judge(r, {"4", CompareMode::kTrim}).verdict == Verdict::kAccepted);
  auto wrong = judge(r, {"5", CompareMode::kTrim});
  CHECK(wrong.verdict == Verdict::kWrongAnswer);
  CHECK(wrong.diff->line == 1);
  r.outcome = Outcome::kTimeout;
  CHECK(judge(r, {"4\n", CompareMode::kTrim}).verdict == Verdict::kTimeout);
  r.outcome = Outcome::kMemoryExceeded;
  CHECK(judge(r, {"4\n", CompareMode::kTrim}).verdict == Verdict::kMemoryExceeded);
  r.outcome = Outcome::kError;
  CHECK(judge(r, {"4\n", CompareMode::kTrim}).verdict == Verdict::kError);
  CHECK(verdict_name(Verdict::kWrongAnswer) == "wrong_answer");
  CHECK(verdict_names().size() == 5);
}

TEST_CASE("run_indexed hands indices out in order, bounded, and stops after a false", "[grading]") {
  std::atomic<int> running{0}, most{0};
  std::mutex mutex;
  std::set<size_t> seen;
  run_indexed(40, 3, [&](size_t i) {
    int now = ++running;
    int was = most.load();
    while (now > was && !most.compare_exchange_weak(was, now)) {
    }
    std::this_thread::yield();
    {
      std::lock_guard<std::mutex> lock(mutex);
      seen.insert(i);
    }
    --running;
    return true;
  });
  CHECK(seen.size() == 40);
  CHECK(most.load() <= 3);

  std::set<size_t> started;
  run_indexed(100, 1, [&](size_t i) {
    started.insert(i);
    return i != 4;
  });
  CHECK(started == std::set<size_t>{0, 1, 2, 3, 4});  // one worker: nothing after the false

  std::set<size_t> parallel_started;
  run_indexed(100, 4, [&](size_t i) {
    std::lock_guard<std::mutex> lock(mutex);
    parallel_started.insert(i);
    return i != 10;
  });
  for (size_t i = 0; i <= 10; ++i) CHECK(parallel_started.count(i) == 1);  // all up to it ran
}
