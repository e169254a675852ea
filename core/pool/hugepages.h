#pragma once
/// Huge pages for the zygote's heap. fork() copies one page-table entry per 4 KiB page of
/// anonymous memory and exit() drops them again; the preloaded stack has ~130 MB of it, which
/// made fork+exit cost ~6 ms of CPU per run here. Collapsed into 2 MiB pages, those entries are
/// copied 512 at a time (measured: fork+exit CPU 5.8 ms -> 3.2 ms). A child's writes still copy
/// 4 KiB at a time (the kernel splits a shared huge page on a CoW fault), so its private memory
/// stays small.

#include <cstddef>

namespace pyrunner {

inline constexpr unsigned long kHugePage = 2UL << 20;
inline unsigned long huge_floor(unsigned long address) { return address & ~(kHugePage - 1); }
inline unsigned long huge_ceil(unsigned long address) {
  return huge_floor(address + kHugePage - 1);
}

/// `length` bytes of private anonymous memory that start on a 2 MiB boundary, so that every
/// whole 2 MiB of it can become one huge page: `extra_flags` is added to MAP_PRIVATE |
/// MAP_ANONYMOUS. MAP_FAILED on failure.
void* map_huge_aligned(size_t length, int prot, int extra_flags);

/// MADV_HUGEPAGE + MADV_COLLAPSE (Linux 6.1+), 2 MiB at a time, on every private anonymous
/// writable mapping of this process (the brk heap extended to a 2 MiB boundary first). Best
/// effort: returns the number of bytes collapsed (0 on older kernels).
size_t collapse_heap_to_huge_pages();

/// The executable mapping that contains `code` (the interpreter's library): its 2 MiB-aligned
/// part is copied into anonymous memory, executable and read-only, and collapsed into huge
/// pages. A child then reaches that code through a few page-table entries copied at fork
/// instead of ~50 page faults on the file per run (fault-around maps 16 pages at a time).
/// The unaligned ends stay mapped from the file. Single-threaded processes only. Best effort:
/// returns the number of bytes moved to huge pages.
size_t collapse_text_to_huge_pages(const void* code);

}  // namespace pyrunner
