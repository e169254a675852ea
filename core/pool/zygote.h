#pragma once
/// The warm zygote: a single-threaded process started from a clean exec (secret-free
/// environment, one BLAS thread) that imports the preload modules once and then creates each
/// run by clone() into new namespaces. The runs it creates are children of the server
/// (CLONE_PARENT), so the server waits for them, times them out and kills them directly.
///
/// Protocol on a SOCK_SEQPACKET socket (one message each):
///   zygote -> server  "STEP <name>"                 before each start-up step (zygote_steps())
///                     "READY"                       after the last, once
///                     "FAILED <step>: <reason>"     start-up failed; the zygote exits
///   server -> zygote  "SPAWN" + 4 fds (stdin_r, stdout_w, stderr_w, control)
///   zygote -> server  "OK <pid>" + 1 fd (pidfd)     or "ERR <reason>"
/// A zygote that dies in a step cannot say so itself: the server names the last step announced
/// and how the process ended (waitid on its pidfd), e.g. "zygote: killed by SIGILL during
/// start-up, in step warm_up".

#include <sys/types.h>

#include <mutex>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/executor/spawner.h"
#include "core/util/fd.h"

namespace pyrunner {

/// How much of the warm start-up a zygote does. A pool starts kWarm (pool.enabled) or kCold,
/// and falls back to a plainer mode when a step of its start-up breaks on this host (pool.h).
enum class ZygoteMode {
  kWarm,   // the preload, then the warm-up and memory-layout steps (kOptionalSteps)
  kPlain,  // the preload only: a zygote without the optional steps serves the same runs, slower
  kCold,   // no Python in the zygote: each child starts its own interpreter
};
const char* zygote_mode_name(ZygoteMode mode);  // "warm", "plain", "cold"

/// The zygote's start-up steps, in order, as named in its STEP messages and in fault injection.
/// The optional ones (`optional`) only make forks and runs cheaper; a plain zygote skips them.
struct ZygoteStep {
  const char* name;
  bool optional;
};
const std::vector<ZygoteStep>& zygote_steps();
/// Whether a plain zygote skips `step` (unknown names: false).
bool is_optional_zygote_step(const std::string& step);

/// What the hidden `pyrunner zygote` subcommand is given.
struct ZygoteArgs {
  std::string config_path;
  int channel_fd = 3;
  ZygoteMode mode = ZygoteMode::kWarm;
  /// The server's pid; if the zygote's parent is already another process, the server died
  /// before the death signal was armed and the zygote exits at once.
  pid_t parent = 0;
  /// Tests only: "<step>:crash" (the zygote kills itself with SIGILL on entering the step) or
  /// "<step>:fail" (the step reports a failure). Empty: none.
  std::string fault;
};

/// The zygote process's main (the hidden `pyrunner zygote` subcommand).
int zygote_main(const ZygoteArgs& args);

/// How a zygote that did not start ended, for the pool to choose a fallback.
struct ZygoteStartFailure {
  std::string step;      // the start-up step it was in ("" before the first)
  bool crashed = false;  // killed by a signal other than SIGKILL, or hung
};

/// The server's handle on one zygote process. Thread-safe: spawn() serializes on the channel.
class Zygote : public Spawner {
 public:
  struct Launch {
    std::string config_path;
    ZygoteMode mode = ZygoteMode::kWarm;
    std::string font_cache;  // matplotlib's (host) cache directory, the zygote's MPLCONFIGDIR
    std::string fault;       // ZygoteArgs::fault
  };
  /// Starts `self_exe zygote` from a clean exec and waits for READY (the preload takes ~1-2 s).
  /// On failure, `failure` (if given) says in which step and how.
  static Result<std::unique_ptr<Zygote>> start(const Launch& launch,
                                               ZygoteStartFailure* failure = nullptr);
  ~Zygote() override;

  Result<SpawnedChild> spawn(const ChildChannels& ends) override;
  /// False once the zygote process has exited (it is then restarted by the pool).
  bool alive() const;
  pid_t pid() const { return pid_; }

 private:
  Zygote() = default;
  /// Why a zygote that stopped talking during start-up ended (it is reaped here).
  std::string start_up_death(const std::string& step, ZygoteStartFailure* failure);
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd channel_;
  std::mutex mutex_;
};

}  // namespace pyrunner
