#pragma once
/// The embedded CPython (libpython3.11): started as the configured interpreter would start
/// (its prefix, its dist-packages), used by the warm zygote (preloaded, then forked) and by
/// cold runs (started inside the already confined child).

#include <cstdint>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/util/status.h"

namespace pyrunner {

/// One request as the child received it: the code, the request's metadata (JSON, may be
/// empty) and the bytes of its files, one after another.
struct RunPayload {
  const char* code;
  size_t code_size;
  const char* meta;
  size_t meta_size;
  const char* data;
  size_t data_size;
};

class PythonRuntime {
 public:
  /// Py_InitializeFromConfig in isolated and UTF-8 mode (PYTHON* variables ignored, no user
  /// site) with program_name = python.interpreter, then loads the runner's modules
  /// (core/runner/*.py, embedded at build time) as the package `_pyrunner`.
  static Result<PythonRuntime> start(const Config& config);

  /// Imports each module once; the first failure is returned ("import scipy:
  /// ModuleNotFoundError..."). Fork hooks that a single-threaded zygote need not run in its
  /// children (threading's, logging's lock resets, random's reseed) are held back and
  /// registered again by prepare_run(), for the program's own forks.
  Status preload(const std::vector<std::string>& modules);
  /// Last step before the zygote forks: sets the sandbox environment, the std streams on fds
  /// 0-2, sys.path and the policy once, so that prepare_run() in each child has nothing of
  /// that left to build.
  Status seal();
  /// After seal(), in a zygote: finds the Mersenne Twister states of `random` and of numpy's
  /// global RandomState, which prepare_run() then reseeds by writing them (the runner's
  /// locate_rngs). Without it, prepare_run() reseeds through the libraries instead.
  void locate_rng_states();
  /// Exercises the preloaded libraries once (a DataFrame, a sympy expansion, a PNG figure...)
  /// so that their lazy imports and first-use caches are filled before the forks.
  void warm_up();
  /// Freezes the GC generations so that forked children do not copy the pages the collector
  /// would otherwise touch (CPython's recommendation for pre-fork servers).
  void freeze();
  /// Allocates every free block of pymalloc's partly used pools, and keeps them. A forked
  /// child's new objects then go to empty pools instead of into pages it shares with the zygote
  /// (each first write to such a page is a copy-on-write fault: ~100 fewer per run). Only for
  /// pymalloc with the layout it is checked to have; returns the number of blocks taken (0:
  /// nothing done).
  size_t fill_object_pools();
  /// An address in the interpreter's own code (the bytecode loop), to find its mapping.
  static const void* interpreter_code();

  /// Call in a forked child before anything else touches Python.
  static void after_fork_child();
  static void before_fork();
  static void after_fork_parent();

  /// In the confined child, before it reports ready: environment, std streams on fds 0-2,
  /// sys.path and the policy (unless sealed), then reseeds the RNGs. For a forked child this takes
  /// most copy-on-write faults off the request path.
  Status prepare_run() const;

  /// Runs the payload's code as __main__ in this (confined, prepared) process: its files, the
  /// policy check, the program, what it displayed and the files it wrote, a record of the
  /// outcome on `record_fd` (runner.py, main), then _exit with the program's exit code.
  [[noreturn]] void run_and_exit(const RunPayload& payload, int record_fd) const;

  /// A session (runner.py, session_start/session_run): opens it (its files, its namespace),
  /// then runs each request in the same namespace and returns once its record is sent. A
  /// non-ok Status is the runner itself failing, not the user's code.
  Status start_session(const RunPayload& payload, int record_fd) const;
  Status run_in_session(const RunPayload& payload, int record_fd) const;

 private:
  explicit PythonRuntime(const Config& config) : config_(&config) {}
  const Config* config_;
  bool sealed_ = false;
  // Where locate_rng_states() found the Mersenne Twister states of `random` and of numpy's
  // global RandomState (0: not found or not as expected), for prepare_run() to reseed by writing.
  uintptr_t random_state_ = 0;
  uintptr_t numpy_state_ = 0;
  void* runner_main_ = nullptr;           // PyObject*: the runner's main(); opaque to the header
  void* runner_prepare_ = nullptr;        // PyObject*: the runner's prepare()
  void* runner_preload_ = nullptr;        // PyObject*: the runner's preload()
  void* runner_seal_ = nullptr;           // PyObject*: the runner's seal()
  void* runner_warm_up_ = nullptr;        // PyObject*: warm_up.run()
  void* runner_locate_rngs_ = nullptr;    // PyObject*: the runner's locate_rngs()
  void* runner_session_start_ = nullptr;  // PyObject*: the runner's session_start()
  void* runner_session_run_ = nullptr;    // PyObject*: the runner's session_run()
};

}  // namespace pyrunner
