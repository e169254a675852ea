// Admission: bounded concurrency and a bounded queue, each verdict reached on purpose. Waiters
// are synchronised on waiting(), never on a sleep.

#include "core/http/admission.h"

#include <catch2/catch.hpp>
#include <future>

#include "support/harness.h"

namespace {

using pyrunner::Admission;
using pyrunner::AdmissionSlot;
using Verdict = Admission::Verdict;
using namespace std::chrono_literals;

// A long wait that a test never reaches: verdicts come from events.
constexpr auto kLong = std::chrono::milliseconds(60000);

bool waiting_is(const Admission& a, int n) {
  return pyrunner::testing::eventually([&] { return a.waiting() == n; }, 10s);
}

}  // namespace

TEST_CASE("admission lets max_running in at once and counts them", "[admission]") {
  Admission a(2, 4, kLong);
  CHECK(a.enter() == Verdict::kAdmitted);
  CHECK(a.enter() == Verdict::kAdmitted);
  CHECK(a.running() == 2);
  CHECK(a.waiting() == 0);
  a.leave();
  CHECK(a.running() == 1);
  CHECK(a.enter() == Verdict::kAdmitted);
  CHECK(a.running() == 2);
}

TEST_CASE("a waiter gets the slot that frees up", "[admission]") {
  Admission a(1, 1, kLong);
  REQUIRE(a.enter() == Verdict::kAdmitted);
  auto waiter = std::async(std::launch::async, [&] { return a.enter(); });
  REQUIRE(waiting_is(a, 1));
  a.leave();
  CHECK(waiter.get() == Verdict::kAdmitted);
  CHECK(a.running() == 1);
  CHECK(a.waiting() == 0);
}

TEST_CASE("beyond max_waiting a request is refused at once", "[admission]") {
  Admission a(1, 2, kLong);
  REQUIRE(a.enter() == Verdict::kAdmitted);
  auto first = std::async(std::launch::async, [&] { return a.enter(); });
  auto second = std::async(std::launch::async, [&] { return a.enter(); });
  REQUIRE(waiting_is(a, 2));
  CHECK(a.enter() == Verdict::kQueueFull);
  CHECK(a.waiting() == 2);  // the refused one never queued
  // Each leave() frees one slot and hands it to one waiter.
  a.leave();
  REQUIRE(waiting_is(a, 1));
  CHECK(a.running() == 1);
  a.leave();
  CHECK(first.get() == Verdict::kAdmitted);
  CHECK(second.get() == Verdict::kAdmitted);
  CHECK(a.running() == 1);
  CHECK(a.waiting() == 0);
}

TEST_CASE("no queue at all: max_waiting 0 refuses when the slots are taken", "[admission]") {
  Admission a(1, 0, kLong);
  REQUIRE(a.enter() == Verdict::kAdmitted);
  CHECK(a.enter() == Verdict::kQueueFull);
}

TEST_CASE("a waiter gives up after max_wait", "[admission]") {
  Admission a(1, 1, std::chrono::milliseconds(50));
  REQUIRE(a.enter() == Verdict::kAdmitted);
  CHECK(a.enter() == Verdict::kWaitedTooLong);
  CHECK(a.waiting() == 0);
  CHECK(a.running() == 1);
}

TEST_CASE("close wakes the waiters and refuses everyone after", "[admission]") {
  Admission a(1, 2, kLong);
  REQUIRE(a.enter() == Verdict::kAdmitted);
  auto waiter = std::async(std::launch::async, [&] { return a.enter(); });
  REQUIRE(waiting_is(a, 1));
  a.close();
  CHECK(waiter.get() == Verdict::kClosed);
  CHECK(a.enter() == Verdict::kClosed);
  CHECK(a.waiting() == 0);
  CHECK(a.running() == 1);  // the run in progress still holds its slot until it leaves
  a.leave();
  CHECK(a.running() == 0);
}

TEST_CASE("an AdmissionSlot leaves when it goes out of scope", "[admission]") {
  Admission a(1, 0, kLong);
  {
    REQUIRE(a.enter() == Verdict::kAdmitted);
    AdmissionSlot slot(a);
    CHECK(a.running() == 1);
  }
  CHECK(a.running() == 0);
  CHECK(a.enter() == Verdict::kAdmitted);
}
