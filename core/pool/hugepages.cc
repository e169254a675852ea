#include "core/pool/hugepages.h"

#include <sys/mman.h>

#include <cstring>

#include "core/pool/mappings.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

namespace pyrunner {

size_t collapse_heap_to_huge_pages() {
  constexpr unsigned long kHuge = 2UL << 20;
  size_t collapsed = 0;
  for (const Mapping& m : read_mappings()) {
    // Anonymous private rw memory only (the Python heap, arenas, numpy's allocations).
    if (std::strcmp(m.perms, "rw-p") != 0 ||
        (m.name[0] != '\0' && std::strcmp(m.name, "[heap]") != 0))
      continue;
    unsigned long from = (m.start + kHuge - 1) & ~(kHuge - 1);
    unsigned long to = m.end & ~(kHuge - 1);
    if (to <= from) continue;
    void* addr = reinterpret_cast<void*>(from);
    if (madvise(addr, to - from, MADV_HUGEPAGE) != 0) continue;
    if (madvise(addr, to - from, MADV_COLLAPSE) == 0) collapsed += to - from;
  }
  return collapsed;
}

}  // namespace pyrunner
