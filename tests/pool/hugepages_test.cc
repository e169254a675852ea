// collapse_text_to_huge_pages() on the interpreter's library, in a forked, single-threaded
// child of this test process: the code moves to anonymous huge pages at the same address,
// byte for byte, and still runs.

#include "core/pool/hugepages.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "core/executor/python_runtime.h"
#include "core/pool/mappings.h"
#include "support/harness.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

extern "C" const char* Py_GetVersion(void);

namespace {

constexpr unsigned long kHuge = 2UL << 20;

const pyrunner::Mapping* mapping_at(const std::vector<pyrunner::Mapping>& maps,
                                    unsigned long addr) {
  for (const auto& m : maps) {
    if (m.start <= addr && addr < m.end) return &m;
  }
  return nullptr;
}

// Whether this kernel can collapse anonymous memory into a huge page on request (6.1+).
bool kernel_collapses() {
  void* area = mmap(nullptr, 2 * kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return false;
  auto* aligned =
      reinterpret_cast<char*>((reinterpret_cast<unsigned long>(area) + kHuge - 1) & ~(kHuge - 1));
  aligned[0] = 1;
  bool ok =
      madvise(aligned, kHuge, MADV_HUGEPAGE) == 0 && madvise(aligned, kHuge, MADV_COLLAPSE) == 0;
  munmap(area, 2 * kHuge);
  return ok;
}

// In the child: 0 if every check passes, else the number of the first that failed.
int collapse_in_child() {
  const auto code = reinterpret_cast<unsigned long>(pyrunner::PythonRuntime::interpreter_code());
  // As in the zygote: headers, text and constants are one mapping first (~6 MiB for libpython).
  pyrunner::merge_library_mappings();
  auto before = pyrunner::read_mappings();
  const auto* original = mapping_at(before, code);
  if (original == nullptr || original->inode == 0) return 1;
  const std::string file = original->name;
  const unsigned long from = (original->start + kHuge - 1) & ~(kHuge - 1);
  const unsigned long to = original->end & ~(kHuge - 1);
  const unsigned long file_offset = original->offset + (from - original->start);
  if (to <= from) return 2;  // ~6 MiB always holds a whole aligned 2 MiB

  const size_t moved = pyrunner::collapse_text_to_huge_pages(reinterpret_cast<const void*>(code));
  if (moved != to - from) return 3;

  auto after = pyrunner::read_mappings();
  const auto* copy = mapping_at(after, from);
  if (copy == nullptr || copy->inode != 0 || std::strcmp(copy->perms, "r-xp") != 0 ||
      copy->start != from || copy->end != to)
    return 4;
  if (copy->anon_huge_kb * 1024 != to - from) return 5;  // all of it in huge pages
  // The same bytes as the file.
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 6;
  std::vector<char> bytes(to - from);
  ssize_t n = pread(fd, bytes.data(), bytes.size(), static_cast<off_t>(file_offset));
  close(fd);
  if (n <= 0 || std::memcmp(bytes.data(), reinterpret_cast<const void*>(from), n) != 0) return 7;
  // And it runs.
  const char* version = Py_GetVersion();
  if (version == nullptr || std::strncmp(version, "3.", 2) != 0) return 8;
  // A second call finds nothing left to move (the mapping is no longer the file's).
  if (pyrunner::collapse_text_to_huge_pages(reinterpret_cast<const void*>(code)) != 0) return 9;
  return 0;
}

}  // namespace

TEST_CASE("the interpreter's code moves to huge pages, byte for byte, and still runs", "[pool]") {
  if (!kernel_collapses()) {
    WARN("this kernel has no MADV_COLLAPSE (Linux 6.1+): the zygote keeps its code on the file");
    return;
  }
  const int failed = pyrunner::testing::in_forked_child(collapse_in_child);
  INFO("the first failed check in the child (0: none; -1: it died)");
  CHECK(failed == 0);
}
