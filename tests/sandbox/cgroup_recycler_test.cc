// The cgroup recycler's bookkeeping: which finished run's cgroup the next run gets, how many are
// kept, when an idle one is removed instead. Pure logic (the clock is a parameter, removal a
// callback), so it is checked without cgroups; cgroup_test.cc checks reuse on the real host.

#include "core/sandbox/cgroup_recycler.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using pyrunner::sandbox::CgroupRecycler;
using pyrunner::sandbox::RecycledCgroup;
using Clock = CgroupRecycler::Clock;
using std::chrono::seconds;

RecycledCgroup cgroup(const std::string& name, unsigned long long limit = 0) {
  RecycledCgroup c;
  c.dirs = {"/memory/" + name, "/pids/" + name, "/cpu/" + name};
  c.memory_limit = limit;
  return c;
}

// Records what the recycler removes.
struct Removed {
  std::mutex mu;
  std::vector<std::string> names;
  CgroupRecycler::Remove callback() {
    return [this](RecycledCgroup c) {
      std::lock_guard<std::mutex> lock(mu);
      names.push_back(c.dirs.at(0).substr(8));
    };
  }
};

}  // namespace

TEST_CASE("the recycler hands back cgroups in the order they were given", "[cgroup]") {
  Removed removed;
  CgroupRecycler recycler(removed.callback());
  const auto t0 = Clock::now();
  CHECK_FALSE(recycler.take(t0).has_value());
  CHECK_FALSE(recycler.put(cgroup("a", 64 << 20), t0).has_value());
  CHECK_FALSE(recycler.put(cgroup("b"), t0 + seconds(1)).has_value());
  CHECK(recycler.size() == 2);
  auto first = recycler.take(t0 + seconds(2));
  REQUIRE(first.has_value());
  CHECK(first->dirs == cgroup("a").dirs);
  CHECK(first->memory_limit == 64 << 20);  // what the earlier run set travels with it
  auto second = recycler.take(t0 + seconds(2));
  REQUIRE(second.has_value());
  CHECK(second->dirs.at(0) == "/memory/b");
  CHECK_FALSE(recycler.take(t0 + seconds(2)).has_value());
  CHECK(removed.names.empty());
}

TEST_CASE("the recycler carries a cgroup's counters and its open memory.peak", "[cgroup]") {
  Removed removed;
  CgroupRecycler recycler(removed.callback());
  RecycledCgroup c = cgroup("a");
  c.oom_kills = 3;
  c.memory_left = 4096;
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  close(fds[1]);
  c.peak.reset(fds[0]);
  recycler.put(std::move(c), Clock::now());
  auto back = recycler.take(Clock::now());
  REQUIRE(back.has_value());
  CHECK(back->oom_kills == 3);
  CHECK(back->memory_left == 4096);
  CHECK(back->peak.get() == fds[0]);  // the same open file: a reset of it holds for this fd only
}

TEST_CASE("a full recycler refuses a cgroup and leaves its removal to the caller", "[cgroup]") {
  Removed removed;
  CgroupRecycler recycler(removed.callback(), /*capacity=*/2);
  const auto t0 = Clock::now();
  CHECK_FALSE(recycler.put(cgroup("a"), t0).has_value());
  CHECK_FALSE(recycler.put(cgroup("b"), t0).has_value());
  auto refused = recycler.put(cgroup("c"), t0);
  REQUIRE(refused.has_value());
  CHECK(refused->dirs.at(0) == "/memory/c");
  CHECK(recycler.size() == 2);
  CHECK(removed.names.empty());
  CHECK(CgroupRecycler::kCapacity == 16);
}

TEST_CASE("a cgroup idle for longer than max_idle is removed, not handed out", "[cgroup]") {
  Removed removed;
  CgroupRecycler recycler(removed.callback());
  const auto t0 = Clock::now();
  const auto idle = CgroupRecycler::kMaxIdle;
  REQUIRE(idle < std::chrono::minutes(1));  // another pyrunner's stale-run sweep waits a minute

  SECTION("at exactly max_idle it is still handed out") {
    recycler.put(cgroup("a"), t0);
    CHECK(recycler.take(t0 + idle).has_value());
    CHECK(removed.names.empty());
  }
  SECTION("past it, take() removes it and has nothing") {
    recycler.put(cgroup("a"), t0);
    CHECK_FALSE(recycler.take(t0 + idle + seconds(1)).has_value());
    CHECK(removed.names == std::vector<std::string>{"a"});
    CHECK(recycler.size() == 0);
  }
  SECTION("past it, put() removes the expired ones and keeps the new one") {
    recycler.put(cgroup("a"), t0);
    recycler.put(cgroup("b"), t0 + seconds(10));
    recycler.put(cgroup("c"), t0 + idle + seconds(5));  // a expired, b not yet
    CHECK(removed.names == std::vector<std::string>{"a"});
    auto next = recycler.take(t0 + idle + seconds(5));
    REQUIRE(next.has_value());
    CHECK(next->dirs.at(0) == "/memory/b");
  }
  SECTION("expired ones are removed even when the recycler is full") {
    CgroupRecycler small(removed.callback(), /*capacity=*/1);
    small.put(cgroup("a"), t0);
    auto refused = small.put(cgroup("b"), t0 + idle + seconds(1));
    CHECK_FALSE(refused.has_value());  // a made room by expiring
    CHECK(removed.names == std::vector<std::string>{"a"});
  }
}

TEST_CASE("the recycler removes what it still holds when it goes", "[cgroup]") {
  Removed removed;
  {
    CgroupRecycler recycler(removed.callback());
    recycler.put(cgroup("a"), Clock::now());
    recycler.put(cgroup("b"), Clock::now());
    recycler.take(Clock::now());
  }
  CHECK(removed.names == std::vector<std::string>{"b"});
}

TEST_CASE("the recycler loses and duplicates nothing under concurrent runs", "[cgroup]") {
  Removed removed;
  CgroupRecycler recycler(removed.callback(), /*capacity=*/1000);
  constexpr int kThreads = 4, kEach = 200;
  std::mutex mu;
  std::vector<std::string> taken;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        recycler.put(cgroup(std::to_string(t) + "-" + std::to_string(i)), Clock::now());
        if (auto c = recycler.take(Clock::now())) {
          std::lock_guard<std::mutex> lock(mu);
          taken.push_back(c->dirs.at(0));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  std::sort(taken.begin(), taken.end());
  CHECK(std::adjacent_find(taken.begin(), taken.end()) == taken.end());
  CHECK(taken.size() + recycler.size() == static_cast<size_t>(kThreads * kEach));
}
