#include "core/pool/arenas.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <sys/mman.h>

#include <vector>

#include "core/pool/hugepages.h"

namespace pyrunner {
namespace {

constexpr size_t kArena = size_t{1} << 20;  // CPython 3.11's ARENA_SIZE on 64-bit
// Address space only (PROT_NONE costs no memory and counts against no limit); arenas become
// writable as they are handed out. A program that needs more falls back to plain mmap.
constexpr size_t kReserve = size_t{4} << 30;

// Slots are handed out from the low end, so the arenas stay packed into as few 2 MiB pages
// as possible; a freed slot is returned to the kernel and reused first.
struct ArenaRegion {
  char* base = nullptr;
  size_t used = 0;  // slots [0, used) have been writable at some point
  std::vector<size_t> free_slots;
  PyObjectArenaAllocator previous{};
};

void* arena_alloc(void* ctx, size_t size) {
  auto* region = static_cast<ArenaRegion*>(ctx);
  if (size == kArena) {
    if (!region->free_slots.empty()) {
      size_t slot = region->free_slots.back();
      region->free_slots.pop_back();
      return region->base + slot * kArena;
    }
    if ((region->used + 1) * kArena <= kReserve) {
      char* arena = region->base + region->used * kArena;
      // Adjacent to the writable part, so the kernel extends that mapping instead of adding one.
      if (mprotect(arena, kArena, PROT_READ | PROT_WRITE) == 0) {
        ++region->used;
        return arena;
      }
    }
  }
  return region->previous.alloc(region->previous.ctx, size);
}

void arena_free(void* ctx, void* ptr, size_t size) {
  auto* region = static_cast<ArenaRegion*>(ctx);
  auto* p = static_cast<char*>(ptr);
  if (p < region->base || p >= region->base + kReserve) {
    region->previous.free(region->previous.ctx, ptr, size);
    return;
  }
  // The memory goes back (the next touch maps a zero page); the slot stays writable.
  madvise(p, kArena, MADV_DONTNEED);
  region->free_slots.push_back(static_cast<size_t>(p - region->base) / kArena);
}

ArenaRegion* installed_region() {
  PyObjectArenaAllocator current{};
  PyObject_GetArenaAllocator(&current);
  return current.alloc == arena_alloc ? static_cast<ArenaRegion*>(current.ctx) : nullptr;
}

}  // namespace

bool install_contiguous_arenas() {
  if (installed_region() != nullptr) return true;
  // 2 MiB-aligned, so that every 2 MiB of arenas can become one huge page.
  void* reserved = map_huge_aligned(kReserve, PROT_NONE, MAP_NORESERVE);
  if (reserved == MAP_FAILED) return false;
  // Arenas get huge pages only by collapse_heap_to_huge_pages() in the zygote, never at a
  // fault: a run's first new arena must not cost a zeroed 2 MiB page (and 2 MiB of its
  // memory_used) on hosts where transparent huge pages are "always".
  madvise(reserved, kReserve, MADV_NOHUGEPAGE);

  // Never freed: CPython holds the pointer for as long as the process lives.
  auto* region = new ArenaRegion();
  region->base = static_cast<char*>(reserved);
  region->free_slots.reserve(kReserve / kArena);  // no allocation inside arena_free
  PyObject_GetArenaAllocator(&region->previous);
  PyObjectArenaAllocator ours{region, arena_alloc, arena_free};
  PyObject_SetArenaAllocator(&ours);
  return true;
}

size_t contiguous_arena_bytes() {
  ArenaRegion* region = installed_region();
  return region == nullptr ? 0 : region->used * kArena;
}

}  // namespace pyrunner
