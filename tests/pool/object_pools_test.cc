// PythonRuntime::fill_object_pools(), in a forked child that starts its own interpreter: once
// the partly used pools are full, every size class allocates from an empty pool, and the
// interpreter goes on working.

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>

#include "core/config/config.h"
#include "core/executor/python_runtime.h"
#include "support/harness.h"

namespace {

// Blocks in use in the pymalloc pool (16 KiB) that holds `block`.
unsigned blocks_in_pool(void* block) {
  return *reinterpret_cast<const unsigned*>(reinterpret_cast<uintptr_t>(block) &
                                            ~uintptr_t{16 * 1024 - 1});
}

// 0 if every check passes, else the number of the first that failed.
int fill_in_child() {
  pyrunner::Config config;  // the built-in defaults
  auto runtime = pyrunner::PythonRuntime::start(config);
  if (!runtime.ok()) return 1;
  // Imports leave partly used pools behind, as the preload does in the zygote.
  if (!runtime->preload({"json", "decimal"}).ok()) return 2;
  if (runtime->fill_object_pools() == 0) return 3;
  // Every class's next block is the first of an empty pool: new objects no longer land in
  // pages written before.
  for (size_t size = 16; size <= 512; size += 16) {
    void* block = PyObject_Malloc(size);
    if (block == nullptr) return 4;
    const unsigned in_use = blocks_in_pool(block);
    PyObject_Free(block);
    if (in_use != 1) return 5;
  }
  // The interpreter allocates and frees as before.
  if (PyRun_SimpleString("import json\n"
                         "xs = [str(i) * (i % 40) for i in range(20000)]\n"
                         "assert json.loads(json.dumps(xs)) == xs\n") != 0)
    return 6;
  return 0;
}

}  // namespace

TEST_CASE("filling pymalloc's partly used pools sends new objects to empty pools", "[pool]") {
  const int failed = pyrunner::testing::in_forked_child(fill_in_child);
  INFO("the first failed check in the child (0: none; -1: it died)");
  CHECK(failed == 0);
}
