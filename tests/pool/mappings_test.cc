// merge_library_mappings() on this test process itself: libc's read-only headers, text and
// constants become one mapping, and nothing writable changes. anonymize_library_data() in a
// forked, single-threaded child, on a writable image laid out the way the dynamic linker
// lays out a shared object's.

#include "core/pool/mappings.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/harness.h"

namespace {

struct Line {
  std::string perms;
  unsigned long offset = 0;
};

std::vector<Line> mappings_of(const std::string& needle) {
  std::vector<Line> lines;
  std::ifstream in("/proc/self/maps");
  std::string text;
  while (std::getline(in, text)) {
    if (text.find(needle) == std::string::npos) continue;
    std::istringstream fields(text);
    std::string range, perms, offset;
    fields >> range >> perms >> offset;
    lines.push_back({perms, std::stoul(offset, nullptr, 16)});
  }
  return lines;
}

int count(const std::vector<Line>& lines, const std::string& perms) {
  int n = 0;
  for (const auto& l : lines) n += l.perms == perms;
  return n;
}

}  // namespace

TEST_CASE("a shared object's read-only and executable mappings are merged into one", "[pool]") {
  const std::string libc = "/libc.so.6";
  auto before = mappings_of(libc);
  INFO("libc mappings before: " << before.size());
  REQUIRE(count(before, "r-xp") == 1);
  CHECK(pyrunner::merge_library_mappings() >= 2);
  auto after = mappings_of(libc);
  INFO("libc mappings after: " << after.size());
  // Headers (offset 0), text and constants: now one executable mapping from offset 0.
  REQUIRE(count(after, "r-xp") == 1);
  for (const auto& l : after) {
    if (l.perms == "r-xp") CHECK(l.offset == 0);
  }
  CHECK(after.size() <= before.size() - 2);
  // What was written to (RELRO, .data) keeps its protection.
  CHECK(count(after, "rw-p") == count(before, "rw-p"));
  // libc still works (the test goes on calling it, but say so).
  char text[16];
  CHECK(std::snprintf(text, sizeof text, "%d", 42) == 2);
  // Idempotent: a second pass finds nothing left to merge.
  CHECK(pyrunner::merge_library_mappings() == 0);
}

namespace {

const pyrunner::Mapping* mapping_at(const std::vector<pyrunner::Mapping>& maps,
                                    unsigned long addr) {
  for (const auto& m : maps) {
    if (m.start <= addr && addr < m.end) return &m;
  }
  return nullptr;
}

// A guard page, then RELRO (file page 0, read-only), .data (file page 1, written) and .bss
// (anonymous, written), then another guard: what ld.so leaves for a shared object. Returns the
// first guard page, or nullptr.
char* lay_out_image(int file) {
  const long page = sysconf(_SC_PAGESIZE);
  auto* base = static_cast<char*>(
      mmap(nullptr, 5 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (base == MAP_FAILED) return nullptr;
  char* relro = base + page;
  char* data = base + 2 * page;
  char* bss = base + 3 * page;
  if (mmap(relro, page, PROT_READ, MAP_PRIVATE | MAP_FIXED, file, 0) == MAP_FAILED ||
      mmap(data, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, file, page) == MAP_FAILED ||
      mmap(bss, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0) ==
          MAP_FAILED)
    return nullptr;
  std::strcpy(data, "written data");
  std::strcpy(bss, "written bss");
  return base;
}

// In the child: 0 if every check passes, else the number of the first that failed. `object`
// stands for a shared object (it is also mapped executable), `plain` for a data file laid out
// the same way.
int anonymize_in_child(int object, int plain) {
  const long page = sysconf(_SC_PAGESIZE);
  char* base = lay_out_image(object);
  char* plain_base = lay_out_image(plain);
  if (base == nullptr || plain_base == nullptr) return 1;
  if (mmap(nullptr, page, PROT_READ | PROT_EXEC, MAP_PRIVATE, object, 0) == MAP_FAILED) return 2;
  char* relro = base + page;
  char* data = base + 2 * page;
  char* bss = base + 3 * page;
  // A shared writable mapping of the same file is not private data: it must stay shared.
  auto* shared =
      static_cast<char*>(mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED, object, 0));
  if (shared == MAP_FAILED) return 3;

  if (pyrunner::anonymize_library_data() < 3) return 4;

  auto maps = pyrunner::read_mappings();
  const auto* image = mapping_at(maps, reinterpret_cast<unsigned long>(relro));
  if (image == nullptr || image->inode != 0 || std::strcmp(image->perms, "rw-p") != 0) return 5;
  // One mapping from RELRO to the end of .bss, and the guards are still guards.
  if (image->start != reinterpret_cast<unsigned long>(relro) ||
      image->end != reinterpret_cast<unsigned long>(bss + page))
    return 6;
  const auto* guard = mapping_at(maps, reinterpret_cast<unsigned long>(base));
  if (guard == nullptr || std::strcmp(guard->perms, "---p") != 0) return 7;
  // Same contents: the file's page, and what was written.
  if (std::strcmp(relro, "relro page") != 0 || std::strcmp(data, "written data") != 0 ||
      std::strcmp(bss, "written bss") != 0)
    return 8;
  // Still private: writing it changes nothing in the file.
  relro[0] = 'R';
  char first = 0;
  if (pread(object, &first, 1, 0) != 1 || first != 'r') return 9;
  // The shared mapping was left alone: a write through it still reaches the file.
  const auto* still_shared = mapping_at(maps, reinterpret_cast<unsigned long>(shared));
  if (still_shared == nullptr || std::strcmp(still_shared->perms, "rw-s") != 0) return 10;
  shared[1] = 'E';
  char second = 0;
  if (pread(object, &second, 1, 1) != 1 || second != 'E') return 11;
  // The data file, which is no loaded code, is still mapped from its file.
  const auto* plain_relro = mapping_at(maps, reinterpret_cast<unsigned long>(plain_base + page));
  if (plain_relro == nullptr || plain_relro->inode == 0) return 12;
  // libc, whose own writable image was just replaced too, still works.
  char text[16];
  if (std::snprintf(text, sizeof text, "%d", 42) != 2 || std::strcmp(text, "42") != 0) return 13;
  // Idempotent: nothing left to replace.
  if (pyrunner::anonymize_library_data() != 0) return 14;
  return 0;
}

// A two-page file in the build directory (where files may be mapped executable, unlike a
// noexec /tmp), already unlinked.
int image_file() {
  std::string path =
      std::filesystem::path(pyrunner::testing::binary()).parent_path() / "mappings-test-XXXXXX";
  int file = mkstemp(path.data());
  if (file < 0) return -1;
  unlink(path.c_str());
  const long page = sysconf(_SC_PAGESIZE);
  std::vector<char> contents(2 * page, 0);
  std::strcpy(contents.data(), "relro page");
  std::strcpy(contents.data() + page, "data page");
  if (pwrite(file, contents.data(), contents.size(), 0) != static_cast<ssize_t>(page * 2)) {
    close(file);
    return -1;
  }
  return file;
}

}  // namespace

TEST_CASE("a shared object's writable image becomes one anonymous mapping, contents kept",
          "[pool]") {
  const int object = image_file();
  const int plain = image_file();
  REQUIRE(object >= 0);
  REQUIRE(plain >= 0);
  const int failed =
      pyrunner::testing::in_forked_child([&] { return anonymize_in_child(object, plain); });
  close(object);
  close(plain);
  INFO("the first failed check in the child (0: none; -1: it died)");
  CHECK(failed == 0);
}
