#include "core/executor/python_runtime.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/sandbox/plan.h"
#include "embedded_python.h"

namespace pyrunner {
namespace {

// Exit code of a child whose runner itself failed (not the user's program).
constexpr int kRunnerBroken = 120;

std::string python_error_text() {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  std::string text = "unknown Python error";
  if (value != nullptr) {
    PyObject* str = PyObject_Str(value);
    if (str != nullptr) {
      const char* utf8 = PyUnicode_AsUTF8(str);
      if (utf8 != nullptr) text = utf8;
      Py_DECREF(str);
    }
  }
  if (type != nullptr)
    text = std::string(reinterpret_cast<PyTypeObject*>(type)->tp_name) + ": " + text;
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  PyErr_Clear();
  return text;
}

PyObject* string_list(const std::vector<std::string>& items) {
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(items.size()));
  for (size_t i = 0; i < items.size(); ++i) {
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), PyUnicode_FromString(items[i].c_str()));
  }
  return list;
}

void set_item(PyObject* dict, const char* key, PyObject* value) {
  PyDict_SetItemString(dict, key, value);
  Py_DECREF(value);
}

// The runner's configuration (runner.py, _configure): what every run of this config shares.
PyObject* runner_config(const Config& c) {
  PyObject* config = PyDict_New();
  set_item(config, "policy", PyBool_FromLong(c.policy.enabled));
  set_item(config, "allowed_modules", string_list(c.policy.allowed_modules));
  set_item(config, "denied_builtins", string_list(c.policy.denied_builtins));
  set_item(config, "env", string_list(sandbox::sandbox_environment(c.sandbox)));
  set_item(config, "module_paths", string_list(c.python.module_paths));
  set_item(config, "workdir", PyUnicode_FromString(sandbox::kWorkdir));
  set_item(config, "cpu_count", PyLong_FromLong(sandbox::run_cpu_count(c.sandbox)));
  set_item(config, "figure_formats", string_list(c.python.figure_formats));
  set_item(config, "figure_dpi", PyLong_FromLong(c.python.figure_dpi));
  PyObject* limits = PyDict_New();
  set_item(limits, "max_results_bytes", PyLong_FromLong(c.limits.max_results_bytes));
  set_item(limits, "max_files", PyLong_FromLong(c.limits.max_files));
  set_item(limits, "max_file_inline_bytes", PyLong_FromLong(c.limits.max_file_inline_bytes));
  set_item(limits, "max_files_inline_bytes", PyLong_FromLong(c.limits.max_files_inline_bytes));
  set_item(config, "limits", limits);
  return config;
}

// Registers the embedded package `_pyrunner` and its modules (core/runner/*.py), in order.
Status load_runner_modules() {
  PyObject* package = PyImport_AddModule("_pyrunner");  // borrowed
  if (package == nullptr) return Status::Error("python: _pyrunner: " + python_error_text());
  PyObject* path = PyList_New(0);
  PyObject_SetAttrString(package, "__path__", path);
  Py_DECREF(path);
  for (const auto& source : embedded::kPythonSources) {
    PyObject* code = Py_CompileStringExFlags(source.text, source.filename, Py_file_input, nullptr,
                                             /*optimize=*/0);
    PyObject* module =
        code ? PyImport_ExecCodeModuleEx(source.module, code, source.filename) : nullptr;
    Py_XDECREF(code);
    if (module == nullptr)
      return Status::Error(std::string("python: ") + source.module +
                           " failed to load: " + python_error_text());
    const char* short_name = std::strrchr(source.module, '.') + 1;
    PyObject_SetAttrString(package, short_name, module);
    Py_DECREF(module);
  }
  return Status::Ok();
}

// A function of one of the runner's modules, kept for the life of the process.
void* runner_function(const char* module_name, const char* name) {
  PyObject* module = PyImport_ImportModule(module_name);
  if (module == nullptr) return nullptr;
  PyObject* fn = PyObject_GetAttrString(module, name);
  Py_DECREF(module);
  return fn;
}

}  // namespace

Result<PythonRuntime> PythonRuntime::start(const Config& config) {
  PythonRuntime runtime(config);
  if (!Py_IsInitialized()) {
    // UTF-8 mode, as `python3 -X utf8`: text files, file names and the std streams are UTF-8
    // whatever the locale says, and the locale (C.UTF-8, from the run's environment) is set
    // for LC_CTYPE as python3 sets it.
    PyPreConfig pre;
    PyPreConfig_InitIsolatedConfig(&pre);
    pre.utf8_mode = 1;
    pre.configure_locale = 1;
    PyStatus st = Py_PreInitialize(&pre);
    PyConfig py;
    PyConfig_InitIsolatedConfig(&py);
    // Start as the configured interpreter would: getpath derives prefix and site-packages
    // from it, never from PATH or from where our own binary lives.
    if (!PyStatus_Exception(st))
      st = PyConfig_SetBytesString(&py, &py.program_name, config.python.interpreter.c_str());
    if (!PyStatus_Exception(st))
      st = PyConfig_SetBytesString(&py, &py.executable, config.python.interpreter.c_str());
    py.write_bytecode = 0;  // the library tree is read-only in the sandbox
    py.install_signal_handlers =
        1;  // SIGPIPE ignored, SIGINT -> KeyboardInterrupt, as python3 does
    if (!PyStatus_Exception(st)) st = Py_InitializeFromConfig(&py);
    PyConfig_Clear(&py);
    if (PyStatus_Exception(st)) {
      return Status::Error(std::string("python: Py_InitializeFromConfig(") +
                           config.python.interpreter +
                           "): " + (st.err_msg ? st.err_msg : "failed"));
    }
  }
  if (auto s = load_runner_modules(); !s.ok()) return s;
  runtime.runner_main_ = runner_function("_pyrunner.runner", "main");
  runtime.runner_prepare_ = runner_function("_pyrunner.runner", "prepare");
  runtime.runner_preload_ = runner_function("_pyrunner.runner", "preload");
  runtime.runner_seal_ = runner_function("_pyrunner.runner", "seal");
  runtime.runner_warm_up_ = runner_function("_pyrunner.warm_up", "run");
  runtime.runner_locate_rngs_ = runner_function("_pyrunner.runner", "locate_rngs");
  runtime.runner_session_start_ = runner_function("_pyrunner.runner", "session_start");
  runtime.runner_session_run_ = runner_function("_pyrunner.runner", "session_run");
  if (!runtime.runner_main_ || !runtime.runner_prepare_ || !runtime.runner_preload_ ||
      !runtime.runner_seal_ || !runtime.runner_warm_up_ || !runtime.runner_locate_rngs_ ||
      !runtime.runner_session_start_ || !runtime.runner_session_run_)
    return Status::Error("python: the runner is incomplete: " + python_error_text());
  return runtime;
}

Status PythonRuntime::preload(const std::vector<std::string>& modules) {
  for (const auto& name : modules) {
    PyObject* done =
        PyObject_CallFunction(static_cast<PyObject*>(runner_preload_), "s", name.c_str());
    if (done == nullptr)
      return Status::Error("python: import " + name + ": " + python_error_text());
    Py_DECREF(done);
  }
  return Status::Ok();
}

Status PythonRuntime::seal() {
  PyObject* config = runner_config(*config_);
  PyObject* done = PyObject_CallOneArg(static_cast<PyObject*>(runner_seal_), config);
  Py_DECREF(config);
  if (done == nullptr) return Status::Error("python: runner seal: " + python_error_text());
  Py_DECREF(done);
  sealed_ = true;
  return Status::Ok();
}

void PythonRuntime::locate_rng_states() {
  PyObject* found = PyObject_CallNoArgs(static_cast<PyObject*>(runner_locate_rngs_));
  unsigned long long random_at = 0, numpy_at = 0;
  if (found == nullptr || !PyArg_ParseTuple(found, "KK", &random_at, &numpy_at)) PyErr_Clear();
  Py_XDECREF(found);
  random_state_ = static_cast<uintptr_t>(random_at);
  numpy_state_ = static_cast<uintptr_t>(numpy_at);
}

void PythonRuntime::warm_up() {
  PyObject* done = PyObject_CallNoArgs(static_cast<PyObject*>(runner_warm_up_));
  Py_XDECREF(done);
  PyErr_Clear();
}

const void* PythonRuntime::interpreter_code() {
  return reinterpret_cast<const void*>(&PyEval_EvalCode);
}

void PythonRuntime::freeze() {
  PyObject* gc = PyImport_ImportModule("gc");
  if (gc == nullptr) {
    PyErr_Clear();
    return;
  }
  for (const char* fn : {"collect", "freeze"}) {
    PyObject* r = PyObject_CallMethod(gc, fn, nullptr);
    Py_XDECREF(r);
  }
  PyErr_Clear();
  Py_DECREF(gc);
}

size_t PythonRuntime::fill_object_pools() {
#if PY_VERSION_HEX >= 0x030A0000 && PY_VERSION_HEX < 0x030D0000 && SIZEOF_VOID_P == 8
  // pymalloc on 64 bits (3.10 to 3.12): 16 KiB pools, 16-byte size classes up to 512 bytes,
  // each pool starting with `uint count` (blocks in use) and, at offset 36, `uint szidx`.
  // Each class's first block is checked against that layout before anything is relied on.
  const char* allocator = _PyMem_GetCurrentAllocatorName();
  if (allocator == nullptr || std::strcmp(allocator, "pymalloc") != 0) return 0;
  constexpr uintptr_t kPoolSize = 16 * 1024;
  auto field = [](void* block, size_t offset) {
    return *reinterpret_cast<const unsigned*>(
        (reinterpret_cast<uintptr_t>(block) & ~(kPoolSize - 1)) + offset);
  };
  size_t filled = 0;
  for (size_t size = 16; size <= 512; size += 16) {
    for (;;) {
      void* block = PyObject_Malloc(size);
      if (block == nullptr) return filled;
      if (field(block, 36) != size / 16 - 1) {  // not the layout assumed: stop, change nothing more
        PyObject_Free(block);
        return filled;
      }
      if (field(block, 0) == 1) {  // the first block of an empty pool: this class is full
        PyObject_Free(block);
        break;
      }
      ++filled;  // kept for the zygote's lifetime: a few hundred KB, shared by every child
    }
  }
  return filled;
#else
  return 0;
#endif
}

void PythonRuntime::before_fork() { PyOS_BeforeFork(); }
void PythonRuntime::after_fork_parent() { PyOS_AfterFork_Parent(); }
void PythonRuntime::after_fork_child() { PyOS_AfterFork_Child(); }

namespace {

// Reseeds the Mersenne Twister state at `key` (624 words) from the kernel's CSPRNG and sets its
// position (`position`) to 624, so that the next draw regenerates from the new words. The top
// bit of the first word is set, as MT's own seeding does, so that the state cannot be all zeros.
bool reseed_mt_state(uintptr_t key, uintptr_t position) {
  uint32_t words[624];
  auto* bytes = reinterpret_cast<unsigned char*>(words);
  size_t have = 0;
  while (have < sizeof words) {
    ssize_t n = getrandom(bytes + have, sizeof words - have, 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    have += static_cast<size_t>(n);
  }
  words[0] |= 0x80000000u;
  std::memcpy(reinterpret_cast<void*>(key), words, sizeof words);
  *reinterpret_cast<int*>(position) = 624;
  return true;
}

}  // namespace

Status PythonRuntime::prepare_run() const {
  // A forked child reseeds the RNGs whose state locate_rng_states() found by writing it (see
  // the runner's locate_rngs); prepare() reseeds any other through the library. prepare()
  // skips the ones located, so failing here must stop the child: it would share the zygote's
  // numbers.
  const bool reseeded = (random_state_ == 0 ||  // int index, then uint32_t state[624]
                         reseed_mt_state(random_state_ + sizeof(int), random_state_)) &&
                        (numpy_state_ == 0 ||  // uint32_t key[624], then int pos
                         reseed_mt_state(numpy_state_, numpy_state_ + 624 * sizeof(uint32_t)));
  if (!reseeded) return Status::Sys("getrandom (reseeding the RNGs)", errno);
  PyObject* config = sealed_ ? Py_NewRef(Py_None) : runner_config(*config_);
  PyObject* result = PyObject_CallOneArg(static_cast<PyObject*>(runner_prepare_), config);
  Py_DECREF(config);
  if (result == nullptr) return Status::Error("python: runner prepare: " + python_error_text());
  Py_DECREF(result);
  return Status::Ok();
}

namespace {

// The payload as the runner's (code, meta, data) arguments: code and metadata copied into bytes,
// the files' bytes lent as a memoryview (the buffer outlives the call).
PyObject* payload_args(const RunPayload& payload, int record_fd, bool with_code) {
  PyObject* data = PyMemoryView_FromMemory(const_cast<char*>(payload.data),
                                           static_cast<Py_ssize_t>(payload.data_size), PyBUF_READ);
  if (!with_code)
    return Py_BuildValue("(y#Ni)", payload.meta, static_cast<Py_ssize_t>(payload.meta_size), data,
                         record_fd);
  return Py_BuildValue("(y#y#Ni)", payload.code, static_cast<Py_ssize_t>(payload.code_size),
                       payload.meta, static_cast<Py_ssize_t>(payload.meta_size), data, record_fd);
}

Status call_runner(void* fn, PyObject* args, const char* what) {
  PyObject* result = args ? PyObject_CallObject(static_cast<PyObject*>(fn), args) : nullptr;
  Py_XDECREF(args);
  if (result == nullptr)
    return Status::Error(std::string("python: runner ") + what + ": " + python_error_text());
  Py_DECREF(result);
  return Status::Ok();
}

}  // namespace

Status PythonRuntime::start_session(const RunPayload& payload, int record_fd) const {
  return call_runner(runner_session_start_, payload_args(payload, record_fd, false),
                     "session_start");
}

Status PythonRuntime::run_in_session(const RunPayload& payload, int record_fd) const {
  // A SIGINT that came after the previous run had ended (its timeout raced its end) is still
  // pending: it must not interrupt this one.
  if (PyErr_CheckSignals() != 0) PyErr_Clear();
  return call_runner(runner_session_run_, payload_args(payload, record_fd, true), "session_run");
}

void PythonRuntime::run_and_exit(const RunPayload& payload, int record_fd) const {
  PyObject* args = payload_args(payload, record_fd, true);
  PyObject* result =
      args ? PyObject_CallObject(static_cast<PyObject*>(runner_main_), args) : nullptr;
  // main() ends with os._exit(); getting here means the runner itself broke.
  std::string text =
      "runner returned: " + (result ? std::string("a value") : python_error_text()) + "\n";
  (void)!write(2, text.data(), text.size());
  _exit(kRunnerBroken);
}

}  // namespace pyrunner
