// The zygote's arena allocator, installed in this test process before it starts an
// interpreter of its own: arenas come from one region, which is one mapping, and freed
// arenas are reused before the region grows.

#include "core/pool/arenas.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace {

// The [start, end) of the mapping in /proc/self/maps that holds `address`.
std::pair<uintptr_t, uintptr_t> mapping_of(const void* address) {
  const auto a = reinterpret_cast<uintptr_t>(address);
  std::ifstream in("/proc/self/maps");
  std::string line;
  while (std::getline(in, line)) {
    uintptr_t start = std::stoul(line, nullptr, 16);
    uintptr_t end = std::stoul(line.substr(line.find('-') + 1), nullptr, 16);
    if (start <= a && a < end) return {start, end};
  }
  return {0, 0};
}

}  // namespace

TEST_CASE("CPython's object arenas come from one region and are reused", "[pool]") {
  REQUIRE_FALSE(Py_IsInitialized());  // no other test starts an interpreter in this process
  REQUIRE(pyrunner::install_contiguous_arenas());
  Py_InitializeEx(0);
  const size_t at_start = pyrunner::contiguous_arena_bytes();
  CHECK(at_start > 0);

  // ~300k small objects: tens of arenas.
  REQUIRE(PyRun_SimpleString("keep = [str(i) for i in range(300000)]") == 0);
  const size_t grown = pyrunner::contiguous_arena_bytes();
  CHECK(grown >= at_start + (10u << 20));

  // A small object lives in that region, and the region is one mapping.
  PyObject* object = PyLong_FromLong(123456789);
  auto [start, end] = mapping_of(object);
  Py_DECREF(object);
  INFO("mapping " << std::hex << start << "-" << end);
  CHECK(end - start >= grown);

  // Freed arenas go back to the kernel and are handed out again before the region grows.
  REQUIRE(PyRun_SimpleString("del keep\nimport gc\ngc.collect()") == 0);
  REQUIRE(PyRun_SimpleString("again = [str(i) for i in range(300000)]\ndel again") == 0);
  CHECK(pyrunner::contiguous_arena_bytes() <= grown + (2u << 20));

  CHECK(Py_FinalizeEx() == 0);
}
