#pragma once
/// `pyrunner mcp`: MCP over stdio, for clients that start their tools as processes. One
/// connection, one pyrunner session; stdout carries JSON-RPC only (logs and anything a library
/// or a child might print go to stderr).

#include <condition_variable>
#include <cstddef>
#include <mutex>

#include "core/config/config.h"
#include "core/mcp/protocol.h"

namespace pyrunner::mcp {

/// Starts the backend (the same pool, run service and sessions as `serve`), serves stdin and
/// stdout until the client closes stdin or SIGTERM/SIGINT/SIGHUP, then ends the session and
/// stops. Returns the process exit code.
int serve_stdio(const Config& config);

/// Whether the sandbox can take calls yet: set once by whoever warms it up.
class Readiness {
 public:
  void set(bool ready);
  /// Blocks until set() or cancel(); true when ready.
  bool wait();
  void cancel();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  enum { kWaiting, kReady, kFailed } state_ = kWaiting;
  bool cancelled_ = false;
};

/// The transport: newline-delimited JSON-RPC messages from `in_fd`, answers to `out_fd`, until
/// EOF on `in_fd` or `stop_fd` is readable. Tool calls (and batches) run on a thread of their
/// own, one at a time in order, once `ready` says so; everything else (initialize, tools/list,
/// pings, cancellations) is answered at once, also while the sandbox warms up or a call runs.
/// A line longer than `max_message` bytes is refused (and skipped) without being held in
/// memory. At EOF the calls already sent are answered while the client still reads stdout.
/// At the end the tools are closed (a run in progress is killed).
void serve_connection(Connection& connection, Toolbox& tools, Readiness& ready, int in_fd,
                      int out_fd, int stop_fd, size_t max_message);

}  // namespace pyrunner::mcp
