#include "core/pool/mappings.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace pyrunner {

std::vector<Mapping> read_mappings() {
  std::vector<Mapping> maps;
  FILE* f = std::fopen("/proc/self/smaps", "re");
  if (f == nullptr) return maps;
  char line[512];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    Mapping m;
    if (std::sscanf(line, "%lx-%lx %4s %lx %x:%x %lu %255s", &m.start, &m.end, m.perms, &m.offset,
                    &m.dev_major, &m.dev_minor, &m.inode, m.name) >= 7) {
      maps.push_back(m);
    } else if (!maps.empty() && std::strncmp(line, "Anonymous:", 10) == 0) {
      maps.back().anonymous_kb = std::strtoul(line + 10, nullptr, 10);
    } else if (!maps.empty() && std::strncmp(line, "AnonHugePages:", 14) == 0) {
      maps.back().anon_huge_kb = std::strtoul(line + 14, nullptr, 10);
    }
  }
  std::fclose(f);
  return maps;
}

namespace {

// `b` continues `a` in the same file: adjacent in memory and in the file.
bool continues(const Mapping& a, const Mapping& b) {
  return a.inode != 0 && a.inode == b.inode && a.dev_major == b.dev_major &&
         a.dev_minor == b.dev_minor && a.end == b.start && a.offset + (a.end - a.start) == b.offset;
}

// Readable, private and not executable: part of a shared object's writable image, if the file
// is one.
bool private_data(const Mapping& m) {
  return m.perms[0] == 'r' && m.perms[2] != 'x' && m.perms[3] == 'p';
}

bool clean_read_only(const Mapping& m) {
  return std::strcmp(m.perms, "r--p") == 0 && m.anonymous_kb == 0;
}

}  // namespace

size_t merge_library_mappings() {
  std::vector<Mapping> maps = read_mappings();
  size_t merged = 0;
  for (size_t i = 0; i < maps.size(); ++i) {
    if (std::strcmp(maps[i].perms, "r-xp") != 0 || maps[i].anonymous_kb != 0) continue;
    for (size_t j : {i - 1, i + 1}) {  // (i - 1 wraps for i == 0 and fails the bound check)
      if (j >= maps.size() || !clean_read_only(maps[j])) continue;
      const Mapping& lo = j < i ? maps[j] : maps[i];
      const Mapping& hi = j < i ? maps[i] : maps[j];
      if (!continues(lo, hi)) continue;
      if (mprotect(reinterpret_cast<void*>(maps[j].start), maps[j].end - maps[j].start,
                   PROT_READ | PROT_EXEC) == 0)
        ++merged;
    }
  }
  return merged;
}

size_t anonymize_library_data() {
  std::vector<Mapping> maps = read_mappings();
  // Loaded code: files this process also maps executable. (Any other private file mapping is
  // left alone; one could end past the end of its file, where reading it would fault.)
  std::set<std::tuple<unsigned, unsigned, unsigned long>> code;
  for (const Mapping& m : maps) {
    if (m.inode != 0 && m.perms[2] == 'x') code.emplace(m.dev_major, m.dev_minor, m.inode);
  }
  size_t replaced = 0;
  for (size_t i = 0; i < maps.size();) {
    if (maps[i].inode == 0 || !private_data(maps[i]) ||
        !code.count({maps[i].dev_major, maps[i].dev_minor, maps[i].inode})) {
      ++i;
      continue;
    }
    // [i, end): this file's adjacent private mappings, then at most one anonymous one (.bss)
    // without huge pages.
    size_t end = i + 1;
    while (end < maps.size() && maps[end].start == maps[end - 1].end && private_data(maps[end]) &&
           (continues(maps[end - 1], maps[end]) ||
            (maps[end].name[0] == '\0' && maps[end - 1].inode != 0 && maps[end].anon_huge_kb == 0)))
      ++end;
    bool writable = false;
    for (size_t k = i; k < end; ++k) writable |= maps[k].perms[1] == 'w';
    if (writable && end - i >= 2) {
      void* at = reinterpret_cast<void*>(maps[i].start);
      size_t length = maps[end - 1].end - maps[i].start;
      void* copy =
          mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (copy != MAP_FAILED) {
        std::memcpy(copy, at, length);
        // Moves the copy's pages over the originals, unmapping them, in one step.
        if (mremap(copy, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, at) != MAP_FAILED)
          replaced += end - i;
        else
          munmap(copy, length);
      }
    }
    i = end;
  }
  return replaced;
}

}  // namespace pyrunner
