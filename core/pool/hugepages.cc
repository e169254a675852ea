#include "core/pool/hugepages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/pool/mappings.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

namespace pyrunner {

void* map_huge_aligned(size_t length, int prot, int extra_flags) {
  void* raw =
      mmap(nullptr, length + kHugePage, prot, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
  if (raw == MAP_FAILED) return MAP_FAILED;
  const auto start = reinterpret_cast<unsigned long>(raw);
  const unsigned long aligned = huge_ceil(start);
  if (aligned > start) munmap(raw, aligned - start);
  munmap(reinterpret_cast<void*>(aligned + length), start + kHugePage - aligned);
  return reinterpret_cast<void*>(aligned);
}

size_t collapse_heap_to_huge_pages() {
  size_t collapsed = 0;
  // The brk heap's last partial 2 MiB would stay in 4 KiB pages (~1.5 MB of them here): extend
  // the heap to the next boundary first. malloc treats the gap as a foreign sbrk, and no longer
  // trims its heap below it, which would split the last huge page.
  const auto brk_end = reinterpret_cast<unsigned long>(sbrk(0));
  const unsigned long brk_aligned = huge_ceil(brk_end);
  if (brk_end != static_cast<unsigned long>(-1) && brk_aligned > brk_end)
    sbrk(static_cast<intptr_t>(brk_aligned - brk_end));
  for (const Mapping& m : read_mappings()) {
    // Anonymous private rw memory only (the Python heap, arenas, numpy's allocations).
    if (std::strcmp(m.perms, "rw-p") != 0 ||
        (m.name[0] != '\0' && std::strcmp(m.name, "[heap]") != 0))
      continue;
    unsigned long from = huge_ceil(m.start);
    unsigned long to = huge_floor(m.end);
    if (to <= from) continue;
    void* addr = reinterpret_cast<void*>(from);
    if (madvise(addr, to - from, MADV_HUGEPAGE) != 0) continue;
    for (unsigned long huge = from; huge < to; huge += kHugePage) {
      void* one = reinterpret_cast<void*>(huge);
      // EAGAIN is the kernel's "temporary resource contention": worth one more try.
      if (madvise(one, kHugePage, MADV_COLLAPSE) == 0 ||
          (errno == EAGAIN && madvise(one, kHugePage, MADV_COLLAPSE) == 0))
        collapsed += kHugePage;
    }
  }
  return collapsed;
}

size_t collapse_text_to_huge_pages(const void* code) {
  const auto at = reinterpret_cast<unsigned long>(code);
  for (const Mapping& m : read_mappings()) {
    if (at < m.start || at >= m.end) continue;
    if (std::strcmp(m.perms, "r-xp") != 0 || m.inode == 0) return 0;
    unsigned long from = huge_ceil(m.start);
    unsigned long to = huge_floor(m.end);
    if (to <= from) return 0;
    const size_t length = to - from;
    auto* target = reinterpret_cast<void*>(from);
    // The copy is made 2 MiB-aligned, so that it can be collapsed before it moves.
    void* copy = map_huge_aligned(length, PROT_READ | PROT_WRITE, MAP_NORESERVE);
    if (copy == MAP_FAILED) return 0;
    std::memcpy(copy, target, length);
    if (madvise(copy, length, MADV_HUGEPAGE) != 0 || madvise(copy, length, MADV_COLLAPSE) != 0 ||
        mprotect(copy, length, PROT_READ | PROT_EXEC) != 0 ||
        // The code being replaced may be running (it is the caller's library): mremap swaps it
        // for its identical copy in one step.
        mremap(copy, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, target) == MAP_FAILED) {
      munmap(copy, length);
      return 0;
    }
    return length;
  }
  return 0;
}

}  // namespace pyrunner
