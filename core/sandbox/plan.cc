#include "core/sandbox/plan.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/sandbox/seccomp.h"
#include "core/util/fd.h"

namespace pyrunner::sandbox {
namespace {

// Top-level names that merged-/usr Debian makes symlinks (bin -> usr/bin); recreated as-is.
constexpr const char* kRootLinks[] = {"/bin", "/lib", "/lib64", "/sbin", "/lib32", "/libx32"};
// The only device nodes a run sees: sinks and sources of bytes, nothing that reaches hardware.
constexpr const char* kDevices[] = {"null", "zero", "full", "random", "urandom"};
// /proc entries that describe the host kernel rather than the run: covered (as container
// runtimes do), although uid 65534 without capabilities could not use most of them anyway.
// Only world-readable ones: covering a root-only file would make it openable (and empty).
constexpr const char* kProcHidden[] = {"keys",        "key-users", "timer_list",
                                       "sched_debug", "kallsyms",  "latency_stats"};
constexpr const char* kProcReadonly[] = {"sys", "irq", "bus", "fs"};

}  // namespace

int run_cpu_count(const SandboxConfig& config) {
  return std::max(1, static_cast<int>(std::ceil(config.cpu_cores - 1e-9)));
}

std::vector<std::string> sandbox_environment(int threads) {
  const std::string n = std::to_string(threads);
  return {
      "PATH=/usr/local/bin:/usr/bin:/bin",
      "HOME=" + std::string(kWorkdir),
      "USER=user",
      "LOGNAME=user",
      "TMPDIR=/tmp",
      "LANG=C.UTF-8",
      "LC_ALL=C.UTF-8",
      "PYTHONUTF8=1",  // the run's own python3 subprocesses in UTF-8 mode too
      "PYTHONIOENCODING=utf-8",
      "PYTHONDONTWRITEBYTECODE=1",
      "MPLBACKEND=Agg",  // no display in the sandbox
      "MPLCONFIGDIR=/tmp" + std::string(kMatplotlibConfigInTmp),
      // BLAS/OpenMP threads as many as the run's CPU quota allows.
      "OPENBLAS_NUM_THREADS=" + n,
      "OMP_NUM_THREADS=" + n,
      "MKL_NUM_THREADS=" + n,
      "NUMEXPR_NUM_THREADS=" + n,
  };
}

std::vector<std::string> sandbox_environment(const SandboxConfig& config) {
  return sandbox_environment(run_cpu_count(config));
}

std::string matplotlib_cache_dir(const SandboxConfig& config) {
  return config.root_dir.substr(0, config.root_dir.rfind('/')) + "/matplotlib";
}

Result<SandboxPlan> build_plan(const Config& config) {
  const auto& sc = config.sandbox;
  SandboxPlan plan;
  plan.root = sc.root_dir;
  plan.old_root = plan.root + "/.oldroot";
  plan.root_tmpfs_opts = "size=4m,nr_inodes=4096,mode=0755";
  plan.uid = static_cast<uid_t>(sc.uid);
  plan.gid = static_cast<gid_t>(sc.gid);
  plan.file_size_bytes = static_cast<long>(sc.max_file_size_mb) << 20;
  plan.open_files = sc.max_open_files;

  std::string last = read_small_file("/proc/sys/kernel/cap_last_cap");
  plan.cap_last_cap = last.empty() ? 63 : std::stoi(last);

  std::vector<std::string> sources = sc.readonly_paths;
  sources.insert(sources.end(), config.python.module_paths.begin(),
                 config.python.module_paths.end());
  for (const auto& path : sources) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) continue;  // optional: not every host has every file
    plan.binds.push_back({path, plan.root + path, S_ISDIR(st.st_mode), false});
  }
  for (const char* link : kRootLinks) {
    char target[PATH_MAX];
    ssize_t n = ::readlink(link, target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    plan.symlinks.push_back({target, plan.root + link});
  }

  const std::string tmp_size = "size=" + std::to_string(sc.tmp_size_mb) + "m";
  plan.tmp_dir = plan.root + "/tmp";
  plan.tmp_opts = tmp_size + ",mode=1777";
  plan.dev_dir = plan.root + "/dev";
  plan.dev_opts = "size=64k,nr_inodes=64,mode=0755";
  plan.proc_dir = plan.root + "/proc";
  // The working directory: private, writable, size-limited (and charged to the run's memory
  // cgroup, as tmpfs pages are), owned by the run's user, gone with the run. Its inode count
  // is bounded too, so that listing what a run wrote stays cheap. Mode 0755: only the run's
  // own mount namespace has it, and the server (a container's root has no CAP_DAC_*) reads
  // a session's files beneath it.
  plan.workdir = plan.root + kWorkdir;
  plan.workdir_opts = "size=" + std::to_string(sc.workdir_size_mb) +
                      "m,nr_inodes=65536,mode=0755,uid=" + std::to_string(sc.uid) +
                      ",gid=" + std::to_string(sc.gid);
  plan.mkdirs = {plan.tmp_dir, plan.dev_dir,       plan.proc_dir,
                 plan.workdir, plan.root + "/mnt", plan.old_root};
  // /mnt/data is where code written for other code interpreters saves: the same directory.
  plan.symlinks.push_back({kWorkdir, plan.root + "/mnt/data"});
  // Whoever asks who the run's user is (getpass, pwd, ~user) gets an answer.
  plan.files.push_back(
      {plan.root + "/etc/passwd",
       "root:x:0:0:root:/root:/usr/sbin/nologin\nuser:x:" + std::to_string(sc.uid) + ":" +
           std::to_string(sc.gid) + ":user:" + kWorkdir + ":/bin/sh\n"});
  plan.files.push_back(
      {plan.root + "/etc/group", "root:x:0:\nuser:x:" + std::to_string(sc.gid) + ":\n"});
  // matplotlib's font list, built once on the host (host.cc), copied into each run's /tmp.
  const std::string font_cache = matplotlib_cache_dir(sc);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(font_cache, ec)) {
    if (entry.path().extension() != ".json") continue;
    plan.tmp_seeds.push_back({entry.path(), plan.tmp_dir + kMatplotlibConfigInTmp + "/" +
                                                entry.path().filename().string()});
  }
  for (const char* name : kProcHidden) {
    if (::access((std::string("/proc/") + name).c_str(), F_OK) == 0)
      plan.proc_hidden.push_back(plan.proc_dir + "/" + name);
  }
  for (const char* name : kProcReadonly) {
    if (::access((std::string("/proc/") + name).c_str(), F_OK) == 0)
      plan.proc_readonly.push_back(plan.proc_dir + "/" + name);
  }
  for (const char* dev : kDevices) {
    plan.binds.push_back({std::string("/dev/") + dev, plan.dev_dir + "/" + dev, false, true});
  }
  // POSIX shared memory (shm_open, multiprocessing's semaphores) lives in the run's /tmp: one
  // size-limited tmpfs serves both, so a run mounts no extra filesystem for it.
  plan.symlinks.push_back({"/tmp", plan.dev_dir + "/shm"});
  plan.symlinks.push_back({"/proc/self/fd", plan.dev_dir + "/fd"});
  plan.symlinks.push_back({"/proc/self/fd/0", plan.dev_dir + "/stdin"});
  plan.symlinks.push_back({"/proc/self/fd/1", plan.dev_dir + "/stdout"});
  plan.symlinks.push_back({"/proc/self/fd/2", plan.dev_dir + "/stderr"});

  plan.env = sandbox_environment(sc);

  auto filter = compile_seccomp_filter();
  if (!filter.ok()) return filter.status();
  plan.seccomp_filter = std::move(filter.value());
  return plan;
}

}  // namespace pyrunner::sandbox
