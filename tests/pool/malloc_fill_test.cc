// fill_malloc_free_chunks() in a fresh process: after it, the free space malloc held inside the
// heap is taken, and new allocations come from the end of the heap.

#include "core/pool/malloc_fill.h"

#include <malloc.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "support/harness.h"

namespace {

size_t free_inside_heap() {
  const struct mallinfo2 info = mallinfo2();
  return info.fordblks > info.keepcost ? info.fordblks - info.keepcost : 0;
}

// 0 if every check passes, else the number of the first that failed.
int fill_and_check() {
  const size_t elsewhere = free_inside_heap();  // what the process start left
  // A fragmented heap, as imports leave it: blocks of many sizes, every other one freed.
  std::vector<std::pair<void*, size_t>> blocks;
  for (int i = 0; i < 4000; ++i) {
    const size_t size = 16 + (i * 37) % 3000;
    void* p = malloc(size);
    if (p == nullptr) return 1;
    std::memset(p, 1, size);
    blocks.emplace_back(p, size);
  }
  std::vector<std::pair<uintptr_t, size_t>> freed;
  for (size_t i = 0; i < blocks.size(); i += 2) {
    freed.emplace_back(reinterpret_cast<uintptr_t>(blocks[i].first), blocks[i].second);
    free(blocks[i].first);
  }
  const size_t now_free = free_inside_heap();
  const size_t fragmented = now_free > elsewhere ? now_free - elsewhere : 0;
  if (fragmented < 1000000) return 2;  // the test's own premise: ~3 MB free inside the heap

  if (pyrunner::fill_malloc_free_chunks() < fragmented / 2) return 3;
  if (free_inside_heap() > elsewhere + fragmented / 20) return 4;
  // Small and large requests no longer land in the freed blocks.
  for (size_t size : {24, 100, 500, 2000}) {
    void* p = malloc(size);
    if (p == nullptr) return 5;
    const auto at = reinterpret_cast<uintptr_t>(p);
    for (const auto& [start, length] : freed) {
      if (at >= start && at < start + length) return 6;
    }
    free(p);
  }
  return 0;
}

}  // namespace

// Run alone, in a process of its own (the case below starts it): a fresh, single-threaded
// heap, like the zygote's. In the test process, other tests' threads leave malloc arenas that
// this thread cannot allocate from, and the numbers would be theirs.
TEST_CASE("malloc fill, in a fresh process", "[.malloc-fill]") {
  const int failed = fill_and_check();
  INFO("the first failed check (0: none)");
  CHECK(failed == 0);
}

TEST_CASE("malloc's free chunks inside the heap are taken before forking", "[pool]") {
  auto run = pyrunner::testing::run_process({"/proc/self/exe", "[.malloc-fill]"});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 0);
}
