// merge_library_mappings() on this test process itself: libc's read-only headers, text and
// constants become one mapping, and nothing writable changes.

#include "core/pool/mappings.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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
