#pragma once
/// One contiguous home for CPython's object arenas in the zygote.
///
/// CPython's small-object allocator takes its heap from the OS one 1 MiB arena at a time, each
/// a separate mmap. With the scientific stack imported that is ~550 mappings of 4 KiB pages:
/// 45% of the zygote's mappings, and each one is duplicated by every fork and torn down by every
/// exit. Here the arenas are cut from a single reserved region instead, so they form one
/// mapping that collapse_heap_to_huge_pages() turns into 2 MiB pages.

#include <cstddef>

namespace pyrunner {

/// Installs the arena allocator; must be called before the interpreter starts (arenas the
/// default allocator handed out could not be freed by this one). Best effort: if the region
/// cannot be reserved, CPython keeps its own allocator. Returns whether it was installed.
bool install_contiguous_arenas();

/// Bytes of the region currently holding arenas (0 if not installed).
size_t contiguous_arena_bytes();

}  // namespace pyrunner
