#pragma once
/// Fewer mappings in the zygote, because every fork duplicates each one and every exit tears
/// each one down again (~1.2 µs apiece here, with ~1200 of them once sklearn has loaded its
/// ~220 shared objects).

#include <cstddef>
#include <vector>

namespace pyrunner {

/// One mapping of /proc/self/smaps, with what the zygote's address-space passes need.
struct Mapping {
  unsigned long start = 0, end = 0, offset = 0, inode = 0;
  char perms[5] = {0};
  unsigned dev_major = 0, dev_minor = 0;
  char name[256] = {0};  // the file, "[heap]", "[stack]"...; empty for anonymous memory
  unsigned long anonymous_kb = 0;
  unsigned long anon_huge_kb = 0;  // of which in huge pages
};

/// This process's mappings, in address order (empty if /proc is not readable).
std::vector<Mapping> read_mappings();

/// A shared object is mapped as read-only headers, executable text and read-only constants:
/// three mappings of one file, back to back. Making the two read-only ones executable too lets
/// the kernel merge the three into one (~450 fewer mappings with the default preload). Only
/// untouched file pages are changed (no private copies: RELRO, .data and .bss keep their
/// protections). Executable constants weaken nothing here: the code that runs in a child is
/// the user's own, and what contains it is the kernel sandbox, not W^X inside its process.
/// Returns the number of mappings removed.
size_t merge_library_mappings();

/// A shared object's writable image is several mappings: RELRO (written once by the dynamic
/// linker, then made read-only), .data (a private file mapping) and .bss (anonymous memory).
/// Each is duplicated at every fork and linked into its own anon_vma tree, which is most of what
/// a fork and an exit cost per mapping. This copies each such run of mappings into one anonymous
/// read-write mapping at the same address (~300 fewer mappings, and a third of the anon_vma
/// work, with the default preload). The contents are unchanged. RELRO becomes writable: that
/// protects nothing in a run, whose program may already write any memory (ctypes, mprotect);
/// what contains it is the kernel sandbox. Single-threaded processes only (a write by another
/// thread between the copy and the remap would be lost). Returns the number of mappings
/// replaced.
size_t anonymize_library_data();

}  // namespace pyrunner
