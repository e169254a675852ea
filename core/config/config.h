#pragma once
/// The one configuration of pyrunner. In-class defaults equal config/pyrunner.yaml; loaded
/// from YAML, validated once (unknown keys rejected with their path), then passed as
/// `const Config&`.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/util/status.h"

namespace pyrunner {

struct LimitsConfig {
  int default_timeout = 30;
  int max_timeout = 300;
  int default_memory_mb = 512;
  int min_memory_mb = 64;
  int max_memory_mb = 2048;
  long max_output_bytes = 1 << 20;
  long max_code_bytes = 1 << 20;
  long max_stdin_bytes = 8 << 20;
  int max_files = 100;                    // files in a request, and listed in a result
  long max_file_inline_bytes = 1 << 20;   // a result file's content inline up to this size
  long max_files_inline_bytes = 8 << 20;  // and while the run's inline total stays within this
  long max_results_bytes = 8 << 20;       // rich results (figures, tables) of one run
};

struct PythonConfig {
  std::string interpreter = "/usr/bin/python3";
  std::vector<std::string> module_paths;
  std::vector<std::string> preload = {
      // the stack
      "numpy", "pandas", "sympy", "scipy", "sklearn", "matplotlib", "matplotlib.pyplot",
      // libraries that save >= 50 ms per run that imports them and add almost no mappings to
      // the zygote (README, "Libraries": bench/preload.py's measurements)
      "seaborn", "networkx", "plotly.express", "xarray", "sqlalchemy"};
  std::vector<std::string> figure_formats = {"png"};  // png, svg, jpeg, pdf
  int figure_dpi = 100;                               // 6.4x4.8 in figures are 640x480 px
  // Import names whose versions GET / reports, besides the preload modules.
  std::vector<std::string> report_libraries = {
      "numpy",   "pandas",      "sympy",    "scipy",    "sklearn", "matplotlib",
      "seaborn", "statsmodels", "networkx", "openpyxl", "xlrd",    "plotly",
      "bs4",     "lxml",        "PIL",      "skimage",  "xarray",  "tabulate",
      "tqdm",    "sqlalchemy",  "requests", "pytz"};
};

struct SandboxConfig {
  int tmp_size_mb = 64;
  int workdir_size_mb = 128;
  int pids_max = 64;
  double cpu_cores = 1.0;
  int max_open_files = 256;
  int max_file_size_mb = 64;
  int uid = 65534;
  int gid = 65534;
  std::string cgroup_root = "auto";
  bool allow_degraded = false;
  std::string root_dir = "/run/pyrunner/root";
  std::vector<std::string> readonly_paths = {
      "/usr",       "/etc/ld.so.cache",  "/etc/localtime",  "/etc/matplotlibrc",
      "/etc/fonts", "/etc/alternatives", "/etc/python3.11", "/etc/mime.types"};
};

struct PolicyConfig {
  bool enabled = true;
  // As config/pyrunner.yaml, group by group; the README says why `sys` is in and `os` is not.
  std::vector<std::string> allowed_modules = {
      // the scientific stack, the libraries shipped with it, and what they are used with
      "numpy", "pandas", "sympy", "mpmath", "scipy", "sklearn", "matplotlib", "mpl_toolkits",
      "seaborn", "statsmodels", "patsy", "networkx", "openpyxl", "xlrd", "plotly", "bs4", "lxml",
      "PIL", "skimage", "imageio", "xarray", "tabulate", "tqdm", "sqlalchemy", "pytz", "dateutil",
      // numbers
      "math", "cmath", "decimal", "fractions", "numbers", "random", "statistics",
      // dates and times, locale-aware formatting
      "time", "datetime", "calendar", "zoneinfo", "locale",
      // text and encodings
      "string", "textwrap", "re", "unicodedata", "difflib", "html", "xml", "json", "csv", "pprint",
      "reprlib", "codecs", "base64", "binascii", "struct", "hashlib", "hmac", "secrets", "uuid",
      // data structures and the language itself
      "itertools", "functools", "operator", "collections", "heapq", "bisect", "array", "copy",
      "enum", "dataclasses", "typing", "types", "abc", "contextlib", "warnings", "weakref",
      "graphlib",
      // files in the run's own directories (open() is allowed anyway)
      "io", "pathlib", "glob", "fnmatch", "tempfile", "shutil", "zipfile", "tarfile", "gzip", "bz2",
      "lzma", "zlib", "sqlite3",
      // program structure: stdin/argv/exit, options, logs, tests
      "sys", "argparse", "logging", "traceback", "unittest", "doctest", "timeit"};
  std::vector<std::string> denied_builtins = {"__import__", "eval",    "exec",   "compile",
                                              "breakpoint", "globals", "locals", "vars"};
};

/// What one API key may use (server.key_limits; server.key_overrides per key id). 0: no limit.
struct KeyLimits {
  int requests_per_minute = 600;  // a token bucket: a minute's worth at once, then one per 60/n s
  int concurrent_runs = -1;       // runs in a slot or waiting for one; -1 (auto): half the slots
  int sessions = -1;              // sessions (and MCP sessions) open; -1 (auto): half the maximum
};

/// A key's own limits (server.key_overrides.<key id>): what it sets replaces key_limits'.
struct KeyOverride {
  std::optional<int> requests_per_minute, concurrent_runs, sessions;
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8000;
  int max_concurrent_runs = 0;  // 0: one per CPU core
  int max_queue = -1;           // -1 ("auto"): no fixed bound, the wait budget decides
  int queue_timeout = 10;       // seconds from a request's arrival to its run slot
  int read_timeout = 30;        // seconds from a request's first byte to its last
  long max_body_bytes = 10 << 20;
  int max_pending_mb = 256;  // requests held in memory (arriving, waiting, answered)
  std::vector<std::string> cors_origins = {"*"};
  int shutdown_grace = 10;
  int threads = 256;    // most worker threads; started as requests need them
  int max_batch = 100;  // runs in one POST /batch
  int max_tests = 100;  // tests in one POST /grade
  // API keys, one a line (or sha256:<hex>); with keys (this file or $PYRUNNER_API_KEYS) every
  // route but GET / and /openapi.json needs one. "": none from a file.
  std::string api_keys_file;
  KeyLimits key_limits;
  std::map<std::string, KeyOverride> key_overrides;  // by key id (8 hex digits)
  // GET /playground, a page that calls this API from a browser. Unset ("auto"): on when `host`
  // is a loopback address, off when the server listens where others can reach it.
  std::optional<bool> playground;

  /// Whether GET /playground is served, `playground` resolved against `host`.
  bool playground_on() const;
};

struct SessionsConfig {
  int max_sessions = 64;    // open at once; beyond it 429
  int idle_timeout = 600;   // seconds without a run before a session ends (a request may ask less)
  int max_lifetime = 3600;  // seconds a session may live at most
  int default_memory_mb = 512;   // a session's memory limit (the whole session) unless it asks
  int interrupt_grace = 2;       // seconds an interrupted run has to stop before the session ends
  std::string replica = "auto";  // names this server in session ids; auto: the host name
};

struct PoolConfig {
  bool enabled = true;
  int size = 4;
};

/// The drop-in APIs (core/compat): YAML `compat: {judge0: {...}, piston: {...}}`.
struct CompatConfig {
  bool judge0_enabled = true;
  int judge0_result_ttl = 3600;        // seconds a finished submission stays readable
  int judge0_max_submissions = 10000;  // submissions kept (finished and waiting) at once
  int judge0_max_store_mb = 256;       // and the memory they may hold (source, files, output)
  bool piston_enabled = true;
};

struct Config {
  LimitsConfig limits;
  PythonConfig python;
  SandboxConfig sandbox;
  PolicyConfig policy;
  ServerConfig server;
  PoolConfig pool;
  SessionsConfig sessions;
  CompatConfig compat;
  std::string source = "built-in defaults";  // where it came from, for logs and GET /

  /// max_concurrent_runs with 0 resolved to the number of cores.
  int concurrent_runs() const;
  /// The limits of the key with this id: key_limits, its override applied, auto resolved.
  KeyLimits limits_of_key(const std::string& key_id) const;
};

/// Parses YAML text; every rejection names the key path and the reason:
/// "limits.max_timeout: must be between 1 and 3600 (got 0)".
Result<Config> parse_config(const std::string& yaml_text, const std::string& source);
/// Loads `path`; "" means $PYRUNNER_CONFIG if set, else the built-in defaults.
Result<Config> load_config(const std::string& path);
/// Checks cross-field rules and ranges; the same checks parse_config applies.
Status validate_config(const Config& config);

}  // namespace pyrunner
