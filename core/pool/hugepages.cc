#include "core/pool/hugepages.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstring>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

namespace pyrunner {

size_t collapse_heap_to_huge_pages() {
  constexpr unsigned long kHuge = 2UL << 20;
  FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps == nullptr) return 0;
  size_t collapsed = 0;
  char line[512];
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    unsigned long start, end;
    char perms[5] = {0};
    char path[256] = {0};
    if (std::sscanf(line, "%lx-%lx %4s %*s %*s %*s %255s", &start, &end, perms, path) < 3) continue;
    // Anonymous private rw memory only (the Python heap, arenas, numpy's allocations).
    if (std::strcmp(perms, "rw-p") != 0 || (path[0] != '\0' && std::strcmp(path, "[heap]") != 0))
      continue;
    unsigned long from = (start + kHuge - 1) & ~(kHuge - 1);
    unsigned long to = end & ~(kHuge - 1);
    if (to <= from) continue;
    void* addr = reinterpret_cast<void*>(from);
    if (madvise(addr, to - from, MADV_HUGEPAGE) != 0) continue;
    if (madvise(addr, to - from, MADV_COLLAPSE) == 0) collapsed += to - from;
  }
  std::fclose(maps);
  return collapsed;
}

}  // namespace pyrunner
