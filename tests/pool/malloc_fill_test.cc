// fill_malloc_free_chunks() in a forked child: after it, the free space malloc held inside the
// heap is taken, and new allocations come from the end of the heap.

#include "core/pool/malloc_fill.h"

#include <malloc.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "support/harness.h"

namespace {

size_t free_inside_heap() {
  const struct mallinfo2 info = mallinfo2();
  return info.fordblks > info.keepcost ? info.fordblks - info.keepcost : 0;
}

// 0 if every check passes, else the number of the first that failed.
int fill_in_child() {
  // A fragmented heap, as imports leave it: blocks of many sizes, every other one freed.
  std::vector<void*> blocks;
  uintptr_t highest = 0;
  for (int i = 0; i < 4000; ++i) {
    void* p = malloc(16 + (i * 37) % 3000);
    if (p == nullptr) return 1;
    std::memset(p, 1, 16);
    blocks.push_back(p);
    highest = std::max(highest, reinterpret_cast<uintptr_t>(p));
  }
  for (size_t i = 0; i < blocks.size(); i += 2) free(blocks[i]);
  const size_t before = free_inside_heap();
  if (before < 1000000) return 2;  // the test's own premise: ~3 MB free inside the heap

  if (pyrunner::fill_malloc_free_chunks() < before / 2) return 3;
  if (free_inside_heap() > before / 20) return 4;
  // Small and large requests now come from beyond everything allocated before.
  for (size_t size : {24, 100, 500, 2000}) {
    void* p = malloc(size);
    if (p == nullptr) return 5;
    if (reinterpret_cast<uintptr_t>(p) <= highest) return 6;
    free(p);
  }
  return 0;
}

}  // namespace

TEST_CASE("malloc's free chunks inside the heap are taken before forking", "[pool]") {
  const int failed = pyrunner::testing::in_forked_child(fill_in_child);
  INFO("the first failed check in the child (0: none; -1: it died)");
  CHECK(failed == 0);
}
