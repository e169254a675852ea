// Background scheduling on a thread of this test process (the tests run as root, so
// CAP_SYS_NICE is there and the background is used).

#include "core/executor/scheduling.h"

#include <sched.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

TEST_CASE("background work is SCHED_IDLE and comes back to SCHED_OTHER", "[executor]") {
  REQUIRE(pyrunner::background_scheduling_available());
  int in_background = -1, back = -1;
  std::thread worker([&] {
    pyrunner::to_background(0);
    in_background = sched_getscheduler(0);
    pyrunner::to_foreground(gettid());
    back = sched_getscheduler(0);
  });
  worker.join();
  CHECK(in_background == SCHED_IDLE);
  CHECK(back == SCHED_OTHER);
  CHECK(sched_getscheduler(0) == SCHED_OTHER);  // only that thread was moved
}
