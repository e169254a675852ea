"""Everything that happens around the user's code: streams, environment, the policy check, the
program itself, what it displayed, the files it wrote, and one record of the outcome.

The C++ side (core/executor/python_runtime.cc) calls, in a warm zygote: preload(name) for each
module, seal(config) once before forking; in every child: prepare(config) (config None when
sealed) before it says it is ready, then either main(code, meta, data, record_fd) for a
one-off run, or session_start(meta, data, record_fd) once and session_run(...) per run.
"""
import atexit
import builtins
import io
import os
import sys
import time

from _pyrunner import display, files, policy, protocol

# Only what every run needs is imported here: a cold run pays for each import. traceback,
# linecache and json are imported when there is something for them to do.
FILENAME = "main.py"


class _Rejected(Exception):
    """The code never started: a syntax error, the policy, or files that could not be written."""


def _streams():
    def writer(fd, **kw):
        raw = io.FileIO(fd, "wb", closefd=False)
        return io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8",
                                errors="backslashreplace", **kw)
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "rb", closefd=False)), encoding="utf-8", errors="replace")
    # Both line-buffered (a newline or a carriage return writes them out, as on a terminal):
    # output printed before a timeout or a kill must reach the parent, and a streamed run's
    # client sees each line as it is printed. (write_through alone would only hand the text
    # to the buffer below, where it waited for the end of the run.)
    sys.stdout = sys.__stdout__ = writer(1, line_buffering=True)
    sys.stderr = sys.__stderr__ = writer(2, line_buffering=True, write_through=True)


def _environ(env):
    for key in list(os.environ):
        del os.environ[key]
    for entry in env:
        key, _, value = entry.partition("=")
        os.environ[key] = value


_direct_rngs = ()  # what prepare_run() (C++) reseeds itself, by writing the state: see locate_rngs()


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


def locate_rngs():
    """In the zygote: the addresses of the Mersenne Twister states of `random` and of numpy's
    global RandomState, for each child to overwrite with fresh random words and a spent
    position. That is a reseed, without running random's and numpy's seeding code in every
    child (~70 copy-on-write faults per run). Each address is used only if the state found
    there is exactly the one the library reports; 0 otherwise (then _reseed() does it). A
    plainer zygote (one that fell back after a failed start-up) does not call it."""
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


def _user_traceback(tb):
    """The traceback from the first frame of the user's code on: the runner's frames go."""
    while tb is not None and tb.tb_frame.f_globals.get("__name__", "").startswith("_pyrunner"):
        tb = tb.tb_next
    return tb


def _exception_info(exc, source, filename):
    """Prints the traceback to stderr (as python3 does) and returns it as the result's
    `exception`: {"name", "value", "traceback": [lines]}."""
    import linecache
    import traceback
    if source is not None:
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    tb = _user_traceback(exc.__traceback__)
    try:
        text = "".join(traceback.format_exception(type(exc), exc, tb))
    except BaseException:
        text = _last_line(exc) + "\n"
    try:
        sys.stderr.write(text)
    except BaseException:
        pass
    try:
        value = str(exc)
    except BaseException:
        value = ""
    return {"name": type(exc).__name__, "value": value, "traceback": text.rstrip("\n").split("\n")}


_config = None
_workdir_at_start = None  # prepare()'s listing of the working directory, for main()
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


def _configure(config):
    global _config
    # Exit handlers the preloaded libraries registered would run after every run for nothing
    # (the process is about to _exit): only the program's own run.
    atexit._clear()
    _environ(config["env"])
    _streams()
    # The working directory comes first on sys.path, as a script's own directory does.
    sys.path.insert(0, config["workdir"])
    sys.path.extend(config["module_paths"])
    sys.argv = [FILENAME]
    # os.cpu_count() reports the run's CPU quota, not the host's cores: pools sized from it
    # (multiprocessing, concurrent.futures, joblib) then fit the run.
    cpus = config["cpu_count"]
    os.cpu_count = lambda: cpus
    display.configure_figures(config["figure_formats"], config["figure_dpi"])
    display.install(None)  # the display() builtin and the matplotlib/IPython hooks
    _config = config


def seal(config):
    """In the zygote, before the first fork: what every child would otherwise set up alike
    (environment, std streams on fds 0-2, sys.path, the policy, the display hooks), done once."""
    global _zygote
    _configure(config)
    import mimetypes
    mimetypes.init()  # reads /etc/mime.types once, for the file listing of every run
    _zygote = True


def prepare(config):
    """Everything that does not depend on the code, done before the child says it is ready:
    for a forked child this is also where most copy-on-write faults happen, off the request
    path. A sealed zygote's child is passed no config: it already has it."""
    if _zygote:
        for hooks in _skipped_hooks:
            os.register_at_fork(**hooks)
    else:
        _configure(config)
    _reseed()
    # The request path's own steps once, on a program that does nothing, so that the pages
    # they touch are copied here: compiling (a last expression is compiled apart), the policy
    # check, the working directory's listing (kept: until the request's files are written, it
    # is what the directory holds when the code starts).
    global _workdir_at_start
    _compile("0\n0", FILENAME)  # no name, no import: no policy can refuse it
    try:
        _workdir_at_start = files.snapshot()
    except OSError:
        _workdir_at_start = None


def _ends_with_semicolon(source, node):
    """IPython's rule: a last expression followed by ';' is not displayed."""
    lines = source.splitlines()
    if node.end_lineno is None or node.end_lineno > len(lines):
        return False
    rest = lines[node.end_lineno - 1].encode("utf-8")[node.end_col_offset:]  # byte offsets
    return rest.decode("utf-8", "replace").lstrip().startswith(";")


def _compile(source, filename):
    """The program as (body, last expression or None): the last top-level statement is kept
    apart when it is an expression whose value is displayed (an execute_result)."""
    import _ast
    tree = compile(source, filename, "exec", 0x400, dont_inherit=True)  # PyCF_ONLY_AST
    if _config["policy"]:
        violation = policy.check_policy(
            tree, _config["allowed_modules"], _config["denied_builtins"],
            policy.own_modules(_config["workdir"], _config["allowed_modules"],
                               _config["denied_builtins"]))
        if violation:
            sys.stderr.write("PolicyError: " + violation + "\n")
            raise _Rejected(violation)
    last = None
    if tree.body and isinstance(tree.body[-1], _ast.Expr) and \
            not _ends_with_semicolon(source, tree.body[-1]):
        last = compile(_ast.Expression(tree.body.pop().value), filename, "eval",
                       dont_inherit=True)
    return compile(tree, filename, "exec", dont_inherit=True), last


def _request(meta):
    if not meta:
        return {}
    import json
    return json.loads(meta)


class _Outcome:
    """What one execution of code ended with, for its record."""

    def __init__(self):
        self.exit_code, self.error, self.memory_error, self.exception = 0, None, False, None
        self.elapsed = 0.0
        self.interrupted = False  # a KeyboardInterrupt ended it (a session run's timeout)


def _new_main_module(filename):
    module = type(sys)("__main__")
    module.__file__ = filename
    module.__builtins__ = builtins
    sys.modules["__main__"] = module
    return module


def _execute(code, request, data, module, shown, replace_files, before=None, on_start=None):
    """Writes the request's files, then compiles and runs `code` in `module` (its globals),
    displaying the value of its last expression. Returns (outcome, snapshot of the working
    directory before the code ran). `before`: that snapshot, if known while no file is given.
    `on_start()` is called as the code starts, where a KeyboardInterrupt is the code's."""
    outcome = _Outcome()
    filename = module.__file__
    source = None
    try:
        try:
            if request.get("files"):
                files.write_inputs(request["files"], data, replace=replace_files)
                before = None
            if before is None:
                before = files.snapshot()
        except OSError as exc:
            before = {} if before is None else before
            outcome.error = "files: cannot write the request's files: %s" % exc
            sys.stderr.write(outcome.error + "\n")
            raise _Rejected(outcome.error)
        try:
            source = code.decode("utf-8")
            body, last = _compile(source, filename)
        except (SyntaxError, ValueError) as exc:
            outcome.exception = _exception_info(exc, None, filename)
            outcome.error = _last_line(exc)
            raise _Rejected(outcome.error)
        sys.argv[:] = [filename] + [str(a) for a in request.get("args", ())]
        start = time.perf_counter()
        try:
            if on_start is not None:
                on_start()
            exec(body, module.__dict__)
            value = eval(last, module.__dict__) if last is not None else None
            # The figures the code left open come first: they are what it drew, the value of
            # its last expression (often the artists a plot call returned) comes after, once.
            display.emit_open_figures(skip=value)
            if value is not None:
                module.__dict__["_"] = value
                shown.execute_result(value)
        finally:
            outcome.elapsed = time.perf_counter() - start
    except _Rejected as rejected:
        outcome.exit_code, outcome.error = 1, outcome.error or str(rejected)
    except SystemExit as exc:
        if exc.code is None:
            outcome.exit_code = 0
        elif isinstance(exc.code, int):
            outcome.exit_code = exc.code & 0xFF
        else:
            sys.stderr.write(str(exc.code) + "\n")
            outcome.exit_code = 1
    except MemoryError as exc:
        outcome.exit_code, outcome.memory_error = 1, True
        try:
            outcome.error = _last_line(exc)
            outcome.exception = _exception_info(exc, source, filename)
        except BaseException:
            outcome.error = "MemoryError"
    except BaseException as exc:
        outcome.interrupted = isinstance(exc, KeyboardInterrupt)
        outcome.exit_code, outcome.error = 1, _last_line(exc)
        outcome.exception = _exception_info(exc, source, filename)
    try:
        display.emit_open_figures()  # also after an exception, as a notebook shows them
    except BaseException:
        pass
    return outcome, before


def _flush_streams():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _report(outcome, shown, before, limits, record_fd):
    """The F messages for the files the run wrote, then its D record."""
    files_truncated = _send_files(before, limits, record_fd)
    record = ['{"exit_code": %d, "error": %s, "memory_error": %s, "time": %.6f' % (
        outcome.exit_code, protocol.json_string(outcome.error),
        "true" if outcome.memory_error else "false", outcome.elapsed)]
    if outcome.interrupted:
        record.append(', "interrupted": true')
    if shown.truncated:
        record.append(', "results_truncated": true')
    if files_truncated:
        record.append(', "files_truncated": true')
    if outcome.exception is not None:
        try:
            record.append(', "exception": ' + protocol.encode(outcome.exception))
        except BaseException:
            pass
    record.append("}")
    protocol.send("D", "".join(record), record_fd)


def _limits(request):
    return dict(_config["limits"], **request.get("limits", {}))


def main(code, meta, data, record_fd):
    """A one-off run: the program, then the process ends with its exit code."""
    request = _request(meta)
    limits = _limits(request)
    shown = display.Display(limits["max_results_bytes"])
    display.install(shown)
    module = _new_main_module(request.get("filename") or FILENAME)
    outcome, before = _execute(code, request, data, module, shown, replace_files=False,
                               before=_workdir_at_start)
    try:
        threading = sys.modules.get("threading")
        if threading is not None and threading.active_count() > 1:
            threading._shutdown()  # wait for non-daemon threads, as python3 does
        atexit._run_exitfuncs()  # the program's own: prepare() dropped the preload's
    except BaseException:
        pass
    _flush_streams()
    # Close the output before the record: the parent answers once it has both, without
    # waiting for this process to tear down its (forked, large) address space.
    for fd in (0, 1, 2):
        try:
            os.close(fd)
        except OSError:
            pass
    _report(outcome, shown, before, limits, record_fd)
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
    os._exit(outcome.exit_code)


# A session: one process, one __main__ namespace, the working directory and what the code
# imported kept from one run to the next.
_session = None


def session_start(meta, data, record_fd):
    """Opens the session: its files are written, its namespace made. Answers with a record."""
    global _session
    request = _request(meta)
    outcome = _Outcome()
    try:
        if request.get("files"):
            files.write_inputs(request["files"], data, replace=True)
    except OSError as exc:
        outcome.exit_code, outcome.error = 1, "files: cannot write the session's files: %s" % exc
    _session = _new_main_module(FILENAME)
    _report(outcome, display.Display(0), None, _limits({}), record_fd)


def session_run(code, meta, data, record_fd):
    """One run in the session, on the std streams the parent just gave it (the C side swaps
    them in and out around this call). Returns once the record is sent."""
    request = _request(meta)
    limits = _limits(request)
    shown = display.Display(limits["max_results_bytes"])
    display.install(shown)
    outcome, before = _execute(code, request, data, _session, shown, replace_files=True,
                               on_start=lambda: protocol.send("S", "{}", record_fd))
    _flush_streams()
    _report(outcome, shown, before, limits, record_fd)


def _send_files(before, limits, record_fd):
    """Sends an F message for each file the run created or changed; True if not all fit."""
    if before is None:
        return False
    try:
        found, truncated = files.collect(before, limits["max_files"],
                                         limits["max_file_inline_bytes"],
                                         limits["max_files_inline_bytes"])
    except BaseException:
        return False
    for item in found:
        protocol.send("F", protocol.encode(item), record_fd)
    return truncated
