#include "core/executor/python_runtime.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/sandbox/plan.h"
#include "core/validator/policy.h"

namespace pyrunner {
namespace {

// Exit code of a child whose runner itself failed (not the user's program).
constexpr int kRunnerBroken = 120;

// The runner: everything that happens around the user's code, in Python because it is about
// Python objects (streams, exceptions, RNGs). check_policy comes from policy.cc.
constexpr const char* kRunnerSource = R"PY(
import atexit, builtins, io, os, sys, time

# Only what every run needs is imported here: a cold run pays for each import. traceback and
# linecache are imported when there is an exception to print.
FILENAME = "main.py"

class _Rejected(Exception):
    pass

def _streams():
    def writer(fd, **kw):
        raw = io.FileIO(fd, "wb", closefd=False)
        return io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", errors="backslashreplace", **kw)
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "rb", closefd=False)), encoding="utf-8", errors="replace")
    # Line-buffered stdout and unbuffered stderr: output printed before a timeout or a kill
    # must reach the parent.
    sys.stdout = sys.__stdout__ = writer(1, line_buffering=True)
    sys.stderr = sys.__stderr__ = writer(2, write_through=True)

def _environ(env):
    for key in list(os.environ):
        del os.environ[key]
    for entry in env:
        key, _, value = entry.partition("=")
        os.environ[key] = value

_direct_rngs = ()  # what prepare_run() (C++) reseeds itself, by writing the state: see _locate_rngs()

def _reseed():
    # A forked child inherits the zygote's RNG state: two runs must never draw the same
    # numbers. Modules imported later seed themselves from os.urandom.
    random = sys.modules.get("random")
    if random is not None and "random" not in _direct_rngs:
        random.seed(int.from_bytes(os.urandom(16), "little"))  # 128 bits; seed() reads 2.5 KB
    np = sys.modules.get("numpy")
    if np is not None and "numpy" not in _direct_rngs:
        np.random.seed(int.from_bytes(os.urandom(4), "little"))

def _mt_state_words(address, words):
    import ctypes
    return list((ctypes.c_uint32 * words).from_address(address))

def _locate_rngs():
    """In the zygote: the addresses of the Mersenne Twister states of `random` and of numpy's
    global RandomState, for each child to overwrite with fresh random words and a spent
    position. That is a reseed, without running random's and numpy's seeding code in every
    child (~70 copy-on-write faults per run). Each address is used only if the state found
    there is exactly the one the library reports; 0 otherwise (then _reseed() does it)."""
    global _direct_rngs
    found = {"random": 0, "numpy": 0}
    random = sys.modules.get("random")
    try:
        inst = random._inst
        inst.gauss_next = None  # a cached normal would be the same in every child
        version, internal, _ = inst.getstate()
        # CPython's RandomObject: the object header (16 bytes), int index, uint32_t state[624].
        index_at = id(inst) + 16
        if (version == 3 and len(internal) == 625 and
                _mt_state_words(index_at + 4, 624) == list(internal[:624]) and
                _mt_state_words(index_at, 1)[0] == internal[624]):
            found["random"] = index_at
    except Exception:
        pass
    try:
        rand = sys.modules["numpy.random.mtrand"]._rand
        rand.seed(0)  # clears the legacy cached normal
        name, key, pos, has_gauss, _ = rand.get_state(legacy=True)
        # numpy's mt19937_state: uint32_t key[624], then int pos.
        key_at = rand._bit_generator.ctypes.state_address
        if (name == "MT19937" and len(key) == 624 and has_gauss == 0 and
                _mt_state_words(key_at, 624) == [int(k) for k in key] and
                _mt_state_words(key_at + 4 * 624, 1)[0] == pos):
            found["numpy"] = key_at
    except Exception:
        pass
    _direct_rngs = tuple(name for name, at in found.items() if at)
    return found["random"], found["numpy"]

def _last_line(exc):
    import traceback
    return "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]

def _print_exception(exc, source):
    import linecache, traceback
    if source is not None:
        linecache.cache[FILENAME] = (len(source), None, source.splitlines(True), FILENAME)
    tb = exc.__traceback__
    if tb is not None:
        tb = tb.tb_next  # the runner's own frame
    try:
        traceback.print_exception(type(exc), exc, tb)
    except BaseException:
        sys.stderr.write(_last_line(exc) + "\n")

def _json_string(text):
    if text is None:
        return "null"
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch < " ":
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)

_policy = None
_zygote = False  # set once the process has preloaded and is about to fork runs

# Hooks a module registers to run in every forked child, which the zygote need not run:
# it forks single-threaded and idle, so no lock can be held by another thread (threading's
# and logging's lock resets have nothing to do) and _reseed() reseeds random anyway. Run in
# each child they cost it ~220 copy-on-write faults. They are registered again in the child,
# for the program's own forks.
_SKIPPED_FORK_HOOKS = {("threading", "_after_fork"),
                       ("logging", "_after_at_fork_child_reinit_locks"),
                       ("random", "Random.seed")}
_skipped_hooks = []

def preload(name):
    """In the zygote: imports one module, holding back the fork hooks it need not run."""
    register = os.register_at_fork
    def register_unless_skipped(**hooks):
        child = hooks.get("after_in_child")
        key = (getattr(child, "__module__", None), getattr(child, "__qualname__", None))
        if key in _SKIPPED_FORK_HOOKS:
            _skipped_hooks.append(hooks)
        else:
            register(**hooks)
    os.register_at_fork = register_unless_skipped
    try:
        __import__(name)
    finally:
        os.register_at_fork = register

def _configure(policy_enabled, allowed, denied, env, module_paths):
    global _policy
    # Exit handlers the preloaded libraries registered would run after every run for nothing
    # (the process is about to _exit): only the program's own run.
    atexit._clear()
    _environ(env)
    _streams()
    sys.path.extend(module_paths)
    sys.argv = [FILENAME]
    _policy = (bool(policy_enabled), frozenset(allowed), frozenset(denied))

def seal(*config):
    """In the zygote, before the first fork: what every child would otherwise set up alike
    (environment, std streams on fds 0-2, sys.path, the policy), done once."""
    global _zygote
    _configure(*config)
    _zygote = True

def prepare(*config):
    """Everything that does not depend on the code, done before the child says it is ready:
    for a forked child this is also where most copy-on-write faults happen, off the request
    path. A sealed zygote's child is passed no config: it already has it."""
    if _zygote:
        for hooks in _skipped_hooks:
            os.register_at_fork(**hooks)
    else:
        _configure(*config)
    _reseed()
    _, allowed, denied = _policy
    warm = compile("import sys", FILENAME, "exec", 0x400, dont_inherit=True)  # PyCF_ONLY_AST
    check_policy(warm, allowed, denied)
    compile(warm, FILENAME, "exec", dont_inherit=True)

def main(code, record_fd):
    policy_enabled, allowed, denied = _policy
    exit_code, error, memory_error = 0, None, False
    source = None
    elapsed = 0.0
    try:
        try:
            source = code.decode("utf-8")
            tree = compile(source, FILENAME, "exec", 0x400, dont_inherit=True)  # PyCF_ONLY_AST
        except (SyntaxError, ValueError) as exc:
            import traceback
            sys.stderr.write("".join(traceback.format_exception_only(type(exc), exc)))
            exit_code, error = 1, _last_line(exc)
            raise _Rejected()
        if policy_enabled:
            violation = check_policy(tree, allowed, denied)
            if violation:
                sys.stderr.write("PolicyError: " + violation + "\n")
                exit_code, error = 1, violation
                raise _Rejected()
        compiled = compile(tree, FILENAME, "exec", dont_inherit=True)
        module = type(sys)("__main__")
        module.__file__ = FILENAME
        module.__builtins__ = builtins
        sys.modules["__main__"] = module
        start = time.perf_counter()
        try:
            exec(compiled, module.__dict__)
        finally:
            elapsed = time.perf_counter() - start
    except _Rejected:
        pass
    except SystemExit as exc:
        if exc.code is None:
            exit_code = 0
        elif isinstance(exc.code, int):
            exit_code = exc.code & 0xFF
        else:
            sys.stderr.write(str(exc.code) + "\n")
            exit_code = 1
    except MemoryError as exc:
        exit_code, memory_error = 1, True
        try:
            error = _last_line(exc)
            _print_exception(exc, source)
        except BaseException:
            error = "MemoryError"
    except BaseException as exc:
        exit_code, error = 1, _last_line(exc)
        _print_exception(exc, source)
    try:
        threading = sys.modules.get("threading")
        if threading is not None and threading.active_count() > 1:
            threading._shutdown()  # wait for non-daemon threads, as python3 does
        atexit._run_exitfuncs()  # the program's own: prepare() dropped the preload's
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    # Close the output before the record: the parent answers once it has both, without
    # waiting for this process to tear down its (forked, large) address space.
    for fd in (0, 1, 2):
        try:
            os.close(fd)
        except OSError:
            pass
    record = '{"exit_code": %d, "error": %s, "memory_error": %s, "time": %.6f}' % (
        exit_code, _json_string(error), "true" if memory_error else "false", elapsed)
    try:
        os.write(record_fd, ("D " + record + "\n").encode("utf-8", "backslashreplace"))
    except OSError:
        pass
    # What is left of a zygote's child is tearing down its copy of the zygote's address space
    # (~1.5 ms of CPU). It must not delay the server that the record just woke, on this CPU,
    # nor other runs: it becomes background work. (A cold child's teardown is small, and
    # `pyrunner run` waits for it: it keeps its priority.)
    if _zygote:
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            os.sched_yield()
        except OSError:
            pass
    os._exit(exit_code)
)PY";

// Exercises the preloaded libraries once in the zygote, so that their lazy imports and
// first-use caches are filled before any fork instead of in every run. Best effort.
constexpr const char* kWarmUpSource = R"PY(
import io, sys
_m = sys.modules
try:
    if "numpy" in _m:
        np = _m["numpy"]
        a = np.arange(100.0).reshape(10, 10)
        str(a @ a); a.mean(); a.std(); a.cumsum(); np.linalg.inv(a + np.eye(10)); np.random.rand(3)
    if "pandas" in _m:
        pd = _m["pandas"]
        df = pd.DataFrame({"a": range(30), "b": [i % 3 for i in range(30)], "c": [0.5] * 30})
        str(df.groupby("b").agg({"a": "sum", "c": "mean"})); str(df.describe()); str(df.head())
        df.sort_values("a").merge(df, on="a").pivot_table(index="b_x", values="c_x")
    if "sympy" in _m:
        sp = _m["sympy"]
        x = sp.symbols("x")
        str(sp.expand((x + 1) ** 3)); str(sp.factor(x ** 2 - 1)); str(sp.pi.evalf(30))
        sp.solve(x ** 2 - 1, x); sp.integrate(x ** 2, x); sp.simplify(sp.sin(x) ** 2 + sp.cos(x) ** 2)
    if "matplotlib.pyplot" in _m:
        plt = _m["matplotlib.pyplot"]
        # Rendering (canvas.draw, savefig) in the zygote made every forked child crash at
        # start (a FreeType/Agg state that does not survive our clone): build, do not draw.
        fig = plt.figure(); plt.plot([1, 2, 3]); plt.title("t")
        plt.close("all")
except Exception:
    pass
)PY";

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

// The runner's configure() arguments: (policy on, allowed modules, denied builtins,
// environment, module paths).
PyObject* runner_config(const Config& c) {
  return Py_BuildValue("(NNNNN)", PyBool_FromLong(c.policy.enabled),
                       string_list(c.policy.allowed_modules), string_list(c.policy.denied_builtins),
                       string_list(sandbox::sandbox_environment()),
                       string_list(c.python.module_paths));
}

}  // namespace

Result<PythonRuntime> PythonRuntime::start(const Config& config) {
  PythonRuntime runtime(config);
  if (!Py_IsInitialized()) {
    PyConfig py;
    PyConfig_InitIsolatedConfig(&py);
    // Start as the configured interpreter would: getpath derives prefix and site-packages
    // from it, never from PATH or from where our own binary lives.
    PyStatus st = PyConfig_SetBytesString(&py, &py.program_name, config.python.interpreter.c_str());
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
  PyObject* globals = PyDict_New();
  PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
  std::string source = std::string(policy_source()) + kRunnerSource;
  PyObject* done = PyRun_String(source.c_str(), Py_file_input, globals, globals);
  if (done == nullptr) {
    Py_DECREF(globals);
    return Status::Error("python: runner failed to load: " + python_error_text());
  }
  Py_DECREF(done);
  // Borrowed from globals, which stays alive for the life of the process.
  runtime.runner_main_ = PyDict_GetItemString(globals, "main");
  runtime.runner_prepare_ = PyDict_GetItemString(globals, "prepare");
  runtime.runner_preload_ = PyDict_GetItemString(globals, "preload");
  runtime.runner_seal_ = PyDict_GetItemString(globals, "seal");
  runtime.runner_locate_rngs_ = PyDict_GetItemString(globals, "_locate_rngs");
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
  PyObject* args = runner_config(*config_);
  PyObject* done = args ? PyObject_CallObject(static_cast<PyObject*>(runner_seal_), args) : nullptr;
  Py_XDECREF(args);
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
  PyObject* globals = PyDict_New();
  PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
  PyObject* done = PyRun_String(kWarmUpSource, Py_file_input, globals, globals);
  Py_XDECREF(done);
  Py_DECREF(globals);
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
  // the runner's _locate_rngs); prepare() reseeds any other through the library. prepare()
  // skips the ones located, so failing here must stop the child: it would share the zygote's
  // numbers.
  const bool reseeded = (random_state_ == 0 ||  // int index, then uint32_t state[624]
                         reseed_mt_state(random_state_ + sizeof(int), random_state_)) &&
                        (numpy_state_ == 0 ||  // uint32_t key[624], then int pos
                         reseed_mt_state(numpy_state_, numpy_state_ + 624 * sizeof(uint32_t)));
  if (!reseeded) return Status::Sys("getrandom (reseeding the RNGs)", errno);
  PyObject* args = sealed_ ? PyTuple_New(0) : runner_config(*config_);
  PyObject* result =
      args ? PyObject_CallObject(static_cast<PyObject*>(runner_prepare_), args) : nullptr;
  Py_XDECREF(args);
  if (result == nullptr) return Status::Error("python: runner prepare: " + python_error_text());
  Py_DECREF(result);
  return Status::Ok();
}

void PythonRuntime::run_and_exit(const char* code, size_t size, int record_fd) const {
  PyObject* args = Py_BuildValue("(y#i)", code, static_cast<Py_ssize_t>(size), record_fd);
  PyObject* result =
      args ? PyObject_CallObject(static_cast<PyObject*>(runner_main_), args) : nullptr;
  // main() ends with os._exit(); getting here means the runner itself broke.
  std::string text =
      "runner returned: " + (result ? std::string("a value") : python_error_text()) + "\n";
  (void)!write(2, text.data(), text.size());
  _exit(kRunnerBroken);
}

}  // namespace pyrunner
