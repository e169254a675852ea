#include "core/pool/malloc_fill.h"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace pyrunner {
namespace {

// Free bytes in malloc's bins, the top chunk (the end of the heap, still untouched) excluded.
size_t free_inside_heap() {
  const struct mallinfo2 info = mallinfo2();
  return info.fordblks > info.keepcost ? info.fordblks - info.keepcost : 0;
}

}  // namespace

size_t fill_malloc_free_chunks() {
  size_t taken = 0;
  // The per-thread cache first: up to 7 chunks of each size to 1032 bytes, which malloc hands
  // out before anything else. (What is not in the cache comes from the bins or the top: a few
  // hundred KB at most, kept as well.)
  for (size_t size = 16; size <= 1032; size += 16) {
    for (int i = 0; i < 7; ++i) {
      if (malloc(size) == nullptr) return taken;  // kept for the zygote's lifetime
      taken += size;
    }
  }
  // Then the bins, largest requests first so that big free chunks go in few pieces, and below
  // 1 KiB every chunk size, so that each size's fast bin is emptied as well. A batch that
  // leaves the free space inside the heap as it was came from the top: it is given back.
  std::vector<size_t> requests;
  for (size_t size = 64 * 1024; size > 1024; size /= 2) requests.push_back(size);
  for (size_t chunk = 1024; chunk >= 32; chunk -= 16) requests.push_back(chunk - sizeof(size_t));
  constexpr size_t kBatchBytes = 64 * 1024;
  std::vector<void*> batch;
  for (size_t size : requests) {
    const size_t count = std::max<size_t>(1, std::min<size_t>(64, kBatchBytes / size));
    for (;;) {
      const size_t before = free_inside_heap();
      if (before < size) break;
      batch.clear();
      for (size_t i = 0; i < count; ++i) {
        void* p = malloc(size);
        if (p == nullptr) break;
        batch.push_back(p);
      }
      if (free_inside_heap() >= before) {
        for (void* p : batch) free(p);
        break;
      }
      taken += batch.size() * size;
    }
  }
  return taken;
}

}  // namespace pyrunner
