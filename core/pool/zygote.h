#pragma once
/// The warm zygote: a single-threaded process started from a clean exec (secret-free
/// environment, one BLAS thread) that imports the preload modules once and then creates each
/// run by clone() into new namespaces. The runs it creates are children of the server
/// (CLONE_PARENT), so the server waits for them, times them out and kills them directly.
///
/// Protocol on a SOCK_SEQPACKET socket (one message each):
///   zygote -> server  "READY"                      after the preload, once
///                     "FAILED <reason>"             start-up failed; the zygote exits
///   server -> zygote  "SPAWN" + 4 fds (stdin_r, stdout_w, stderr_w, control)
///   zygote -> server  "OK <pid>" + 1 fd (pidfd)     or "ERR <reason>"

#include <sys/types.h>

#include <mutex>
#include <string>

#include "core/config/config.h"
#include "core/executor/spawner.h"
#include "core/util/fd.h"

namespace pyrunner {

/// The zygote process's main (the hidden `pyrunner zygote` subcommand). `cold`: do not start
/// Python in the zygote; each child starts its own interpreter (the pool-off baseline).
/// `parent`: the server's pid; if the zygote's parent is already another process, the server
/// died before the death signal was armed and the zygote exits at once.
int zygote_main(const std::string& config_path, int channel_fd, bool cold, pid_t parent);

/// The server's handle on one zygote process. Thread-safe: spawn() serializes on the channel.
class Zygote : public Spawner {
 public:
  /// Starts `self_exe zygote` from a clean exec and waits for READY (the preload takes ~1-2 s).
  /// `font_cache`: matplotlib's (host) cache directory, the zygote's MPLCONFIGDIR.
  static Result<std::unique_ptr<Zygote>> start(const std::string& config_path, bool cold,
                                               const std::string& font_cache);
  ~Zygote() override;

  Result<SpawnedChild> spawn(const ChildChannels& ends) override;
  /// False once the zygote process has exited (it is then restarted by the pool).
  bool alive() const;
  pid_t pid() const { return pid_; }

 private:
  Zygote() = default;
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd channel_;
  std::mutex mutex_;
};

}  // namespace pyrunner
