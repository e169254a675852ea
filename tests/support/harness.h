#pragma once
// Test support: run the real binary, start a real server on a free loopback port.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pyrunner::testing {

/// build/pyrunner and the source tree, as compiled into the test binary.
std::string binary();
std::string source_path(const std::string& relative);

struct ProcessResult {
  int exit_code = -1;  // negative: killed by that signal
  std::string out, err;
};

/// Polls `done` every 20 ms until it holds or `limit` passes; the bound keeps a broken server
/// from hanging the suite. Not a timing assertion: callers check what was reached.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit);

/// Runs `checks` in a forked child of the test process and returns its result: for code that
/// changes the process it runs in (its address space, its interpreter), which the test
/// process, with the threads of other tests' servers, must not have done to itself. -1 if the
/// child died instead.
int in_forked_child(const std::function<int()>& checks);

/// Runs `args` (args[0] is a path) with `input` on stdin, extra "KEY=value" environment.
ProcessResult run_process(const std::vector<std::string>& args, const std::string& input = "",
                          const std::vector<std::string>& env = {}, int timeout_s = 120);

/// `pyrunner run <extra...> -` with `code` on stdin; stdout parsed as JSON (null if not JSON).
struct CliRun {
  ProcessResult process;
  nlohmann::json result;
};
CliRun run_code(const std::string& code, const std::vector<std::string>& extra = {},
                const std::vector<std::string>& env = {});

/// A file in a fresh temporary directory, removed with the object.
class TempFile {
 public:
  explicit TempFile(const std::string& contents, const std::string& name = "file");
  ~TempFile();
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

/// A config file: YAML text, typically `policy: {enabled: false}`.
inline TempFile config_file(const std::string& yaml) { return TempFile(yaml, "pyrunner.yaml"); }

struct HttpResponse {
  int status = 0;  // 0: no answer (connection failed)
  std::string body;
  std::map<std::string, std::string> headers;
  nlohmann::json json() const;
};

/// The value of the sample `name` (labels included, exactly as rendered: `a_total{k="v"}`) in
/// Prometheus text; nullopt when no line has it.
std::optional<double> metric(const std::string& text, const std::string& name);

/// `pyrunner serve --port 0` with optional config; waits for "listening on", knows the port.
class TestServer {
 public:
  /// Starts `pyrunner serve` and waits until it listens (or throws, the server stopped),
  /// unless `wait` is false: then the server may still be starting when this returns.
  /// `wrapper` (a path and its arguments) runs the server: setpriv, to drop capabilities.
  explicit TestServer(const std::string& config_yaml = "", const std::vector<std::string>& env = {},
                      bool wait = true, const std::vector<std::string>& wrapper = {});
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  int port() const { return port_; }
  /// Headers every later request of this object sends (an API key: {"X-API-Key", key}).
  void set_default_headers(std::vector<std::pair<std::string, std::string>> headers) {
    default_headers_ = std::move(headers);
  }
  pid_t pid() const { return pid_; }
  HttpResponse get(const std::string& path) const;
  HttpResponse post(const std::string& path, const std::string& body,
                    const std::string& content_type = "application/json") const;
  /// DELETE `path`.
  HttpResponse del(const std::string& path) const;
  /// Any request, with `headers` (e.g. {{"Authorization", "Bearer KEY"}}); a body is sent as
  /// JSON unless the headers give a Content-Type.
  HttpResponse send(const std::string& method, const std::string& path,
                    const std::string& body = "",
                    const std::vector<std::pair<std::string, std::string>>& headers = {}) const;
  /// POST /run with {"code": code} plus `fields`; the parsed result.
  HttpResponse run(const std::string& code, nlohmann::json fields = nlohmann::json::object()) const;
  /// Sends SIGTERM and waits; returns the exit code.
  int terminate();
  /// Whether the server process is still running (reaps it if it has exited).
  bool alive();
  /// Everything the server logged so far.
  std::string log() const;

 private:
  void stop();

  std::unique_ptr<TempFile> config_;
  std::vector<std::pair<std::string, std::string>> default_headers_;
  pid_t pid_ = -1;
  int port_ = 0;
  int stderr_fd_ = -1;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::string log_;
};

}  // namespace pyrunner::testing
