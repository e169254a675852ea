#pragma once
/// Everything the child needs to confine itself, prepared in the parent (paths resolved, BPF
/// compiled, environment built) so that the child only makes syscalls.

#include <linux/filter.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/util/status.h"

namespace pyrunner::sandbox {

struct BindMount {
  std::string source;  // host path
  std::string target;  // absolute path under the new root (before pivot_root)
  bool is_dir;
  bool writable;  // device nodes: rw; everything else read-only
};

struct Symlink {
  std::string target;    // what the link points to ("usr/lib")
  std::string linkpath;  // absolute path under the new root
};

/// A small file written into the read-only root (/etc/passwd naming the run's user).
struct GeneratedFile {
  std::string path;  // absolute path under the new root
  std::string content;
};

struct SandboxPlan {
  std::string root;              // the mount point the new root is built on
  std::string old_root;          // root + "/.oldroot", removed after pivot_root
  std::string root_tmpfs_opts;   // "size=...,mode=0755"
  std::vector<BindMount> binds;  // read-only views of what Python needs, and /dev nodes
  std::vector<Symlink> symlinks;
  std::vector<GeneratedFile> files;
  std::vector<std::string> mkdirs;    // mount points created in the new root
  std::string tmp_dir, tmp_opts;      // private /tmp (/dev/shm is a link to it)
  std::string workdir, workdir_opts;  // private, writable working directory and $HOME
  struct Seed {
    std::string source, target;  // host file -> path in the new /tmp
  };
  std::vector<Seed> tmp_seeds;             // files a run finds in /tmp (matplotlib's font list)
  std::string dev_dir, dev_opts;           // minimal /dev
  std::string proc_dir;                    // fresh /proc of the run's PID namespace
  std::vector<std::string> proc_hidden;    // /proc files covered by /dev/null
  std::vector<std::string> proc_readonly;  // /proc directories made read-only
  std::string hostname = "pyrunner";
  // Set by a zygote that has built the root template and the environment and lives in them
  // (mounts.h): its children only mount their own /tmp, /dev/shm and /proc.
  bool prebuilt_root = false;

  uid_t uid;
  gid_t gid;
  int cap_last_cap;
  long file_size_bytes;
  long open_files;

  std::vector<std::string> env;  // the whole environment of the run, "KEY=value"
  std::vector<sock_filter> seccomp_filter;
};

/// Builds the plan from the config: stats the read-only paths (missing ones are skipped),
/// reads the host's /bin, /lib... symlinks, compiles the seccomp filter.
Result<SandboxPlan> build_plan(const Config& config);

/// The run's working directory, its $HOME; /mnt/data is a link to it (the path other code
/// interpreters save to).
inline constexpr const char* kWorkdir = "/home/user";

/// How many CPUs a run may keep busy at once: sandbox.cpu_cores rounded up, at least 1. What
/// os.cpu_count() says in a run and the BLAS/OpenMP thread count of its environment.
int run_cpu_count(const SandboxConfig& config);

/// The environment every run sees. `threads`: the BLAS/OpenMP thread count it names (the warm
/// zygote is started with 1: forking with live BLAS threads deadlocks).
std::vector<std::string> sandbox_environment(int threads = 1);
/// The environment of a run of this config (threads = run_cpu_count).
std::vector<std::string> sandbox_environment(const SandboxConfig& config);

/// Host directory holding matplotlib's font cache, next to sandbox.root_dir. Building the cache
/// takes ~1.5 s, so it is built once per boot on the host (host.cc) and copied into each cold
/// run's /tmp (a run's MPLCONFIGDIR must be writable).
std::string matplotlib_cache_dir(const SandboxConfig& config);
inline constexpr const char* kMatplotlibConfigInTmp = "/.matplotlib";

}  // namespace pyrunner::sandbox
