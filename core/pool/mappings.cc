#include "core/pool/mappings.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstring>
#include <string>
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

}  // namespace pyrunner
