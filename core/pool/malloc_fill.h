#pragma once
/// The C heap's counterpart of PythonRuntime::fill_object_pools(), for the zygote: malloc
/// serves a forked child from the free chunks the zygote's imports left scattered through its
/// heap, and each first write to one of those shared pages (the chunk headers malloc updates,
/// then the object) is a copy-on-write fault. With those chunks taken, a child's allocations
/// come from the end of the heap, packed together.

#include <cstddef>

namespace pyrunner {

/// Allocates (and keeps) the free space glibc's malloc holds inside the heap, and empties its
/// per-thread cache. Single-threaded processes only. Returns the bytes taken.
size_t fill_malloc_free_chunks();

}  // namespace pyrunner
