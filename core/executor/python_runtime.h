#pragma once
/// The embedded CPython (libpython3.11): started as the configured interpreter would start
/// (its prefix, its dist-packages), used by the warm zygote (preloaded, then forked) and by
/// cold runs (started inside the already confined child).

#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/util/status.h"

namespace pyrunner {

class PythonRuntime {
 public:
  /// Py_InitializeFromConfig in isolated mode (PYTHON* variables ignored, no user site) with
  /// program_name = python.interpreter, then compiles the runner module.
  static Result<PythonRuntime> start(const Config& config);

  /// Imports each module once; the first failure is returned ("import scipy:
  /// ModuleNotFoundError...").
  Status preload(const std::vector<std::string>& modules);
  /// Exercises the preloaded libraries once (a DataFrame, a sympy expansion, a PNG figure...)
  /// so that their lazy imports and first-use caches are filled before the forks.
  void warm_up();
  /// Freezes the GC generations so that forked children do not copy the pages the collector
  /// would otherwise touch (CPython's recommendation for pre-fork servers).
  void freeze();

  /// Call in a forked child before anything else touches Python.
  static void after_fork_child();
  static void before_fork();
  static void after_fork_parent();

  /// In the confined child, before it reports ready: environment, fresh std streams on fds 0-2,
  /// sys.path, the policy. For a forked child this takes most copy-on-write faults off the
  /// request path.
  Status prepare_run() const;

  /// Runs `code` as __main__ in this (confined, prepared) process: policy check, reseeded RNGs,
  /// a one-line record of the outcome on `record_fd`, then _exit with the program's exit code.
  /// Never returns.
  [[noreturn]] void run_and_exit(const char* code, size_t size, int record_fd) const;

 private:
  explicit PythonRuntime(const Config& config) : config_(&config) {}
  const Config* config_;
  void* runner_main_ = nullptr;     // PyObject*: the runner's main(); opaque to the header
  void* runner_prepare_ = nullptr;  // PyObject*: the runner's prepare()
};

}  // namespace pyrunner
