#include "core/sandbox/mounts.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/util/fd.h"

namespace pyrunner::sandbox {
namespace {

constexpr const char* kStep = "sandbox/mounts";

// mkdir -p with a stack buffer (no allocation in the child).
bool make_dirs(const char* path, StepError* err) {
  char buf[PATH_MAX];
  size_t len = strnlen(path, sizeof buf);
  if (len >= sizeof buf) return fail(err, kStep, "path too long: %.64s", path);
  memcpy(buf, path, len + 1);
  for (size_t i = 1; i <= len; ++i) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return fail(err, kStep, "mkdir(\"%s\")", buf);
    buf[i] = saved;
  }
  return true;
}

bool make_parent_dirs(const char* path, StepError* err) {
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  char* slash = strrchr(buf, '/');
  if (slash == nullptr || slash == buf) return true;
  *slash = '\0';
  return make_dirs(buf, err);
}

bool mount_tmpfs(const char* target, const char* opts, unsigned long flags, StepError* err) {
  if (mount("tmpfs", target, "tmpfs", flags, opts) != 0)
    return fail(err, kStep, "mount(\"tmpfs\", \"%s\", \"%s\")", target, opts);
  return true;
}

bool bind(const BindMount& b, StepError* err) {
  if (b.is_dir) {
    if (!make_dirs(b.target.c_str(), err)) return false;
  } else {
    if (!make_parent_dirs(b.target.c_str(), err)) return false;
    int fd = open(b.target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return fail(err, kStep, "open(\"%s\", O_CREAT)", b.target.c_str());
    close(fd);
  }
  if (mount(b.source.c_str(), b.target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return fail(err, kStep, "mount(\"%s\", \"%s\", MS_BIND)", b.source.c_str(), b.target.c_str());
  // A bind mount takes its flags only on remount. Read-only for everything but the device
  // sinks; never setuid; never device nodes except for the device binds themselves.
  unsigned long flags =
      MS_BIND | MS_REMOUNT | MS_NOSUID | (b.writable ? MS_NOEXEC : MS_RDONLY | MS_NODEV);
  if (mount(nullptr, b.target.c_str(), nullptr, flags, nullptr) != 0)
    return fail(err, kStep, "mount(\"%s\", MS_REMOUNT|%s)", b.target.c_str(),
                b.writable ? "rw" : "MS_RDONLY");
  return true;
}

// Copies a host file into the new /tmp, owned by the run's uid (read/write syscalls only).
bool seed_file(const char* source, const char* target, uid_t uid, gid_t gid, StepError* err) {
  if (!make_parent_dirs(target, err)) return false;
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", target);
  *strrchr(dir, '/') = '\0';
  // The file is written before its directory becomes the run's user's: root without
  // CAP_DAC_OVERRIDE (a container's) may not create files in a directory it does not own.
  int in = open(source, O_RDONLY | O_CLOEXEC);
  if (in >= 0) {  // the cache is an optimisation: a run without it is only slower
    int out = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
      close(in);
      return fail(err, kStep, "open(\"%s\", O_CREAT)", target);
    }
    char buf[16384];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) {
      if (write(out, buf, static_cast<size_t>(n)) != n) break;
    }
    close(in);
    bool ok = fchown(out, uid, gid) == 0;
    close(out);
    if (!ok) return fail(err, kStep, "fchown(\"%s\")", target);
  }
  if (chown(dir, uid, gid) != 0) return fail(err, kStep, "chown(\"%s\")", dir);
  return true;
}

// Writes a generated file into the root tmpfs (before it becomes read-only).
bool write_file(const GeneratedFile& file, StepError* err) {
  if (!make_parent_dirs(file.path.c_str(), err)) return false;
  int fd = open(file.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(err, kStep, "open(\"%s\", O_CREAT)", file.path.c_str());
  bool ok = write_all(fd, file.content.data(), file.content.size());
  close(fd);
  if (!ok) return fail(err, kStep, "write(\"%s\")", file.path.c_str());
  return true;
}

// The part of the root that is the same for every run: a tmpfs holding the mount points, the
// read-only binds, the symlinks and a minimal /dev.
bool build_static(const SandboxPlan& plan, StepError* err) {
  // Nothing done below may propagate back to the host's mount namespace.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return fail(err, kStep, "mount(\"/\", MS_REC|MS_PRIVATE)");
  if (!mount_tmpfs(plan.root.c_str(), plan.root_tmpfs_opts.c_str(), MS_NOSUID | MS_NODEV, err))
    return false;
  for (const auto& dir : plan.mkdirs) {
    if (!make_dirs(dir.c_str(), err)) return false;
  }
  // /dev is a tmpfs of its own (device nodes allowed, nothing executable) holding binds of
  // a handful of harmless host devices.
  if (!mount_tmpfs(plan.dev_dir.c_str(), plan.dev_opts.c_str(), MS_NOSUID | MS_NOEXEC, err))
    return false;
  for (const auto& b : plan.binds) {
    if (!bind(b, err)) return false;
  }
  for (const auto& link : plan.symlinks) {
    if (symlink(link.target.c_str(), link.linkpath.c_str()) != 0)
      return fail(err, kStep, "symlink(\"%s\", \"%s\")", link.target.c_str(),
                  link.linkpath.c_str());
  }
  for (const auto& file : plan.files) {
    if (!write_file(file, err)) return false;
  }
  // /dev holds only mount points and links from now on (its device nodes are binds).
  if (mount(nullptr, plan.dev_dir.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC,
            plan.dev_opts.c_str()) != 0)
    return fail(err, kStep, "mount(\"%s\", MS_REMOUNT|MS_RDONLY)", plan.dev_dir.c_str());
  return true;
}

// What every run gets fresh: /tmp (with its seed files; /dev/shm links to it), the working
// directory and /proc. The plan's paths are under the new root; `skip` characters of each are
// dropped once it is the root.
bool mount_per_run(const SandboxPlan& plan, size_t skip, StepError* err) {
  const char* tmp = plan.tmp_dir.c_str() + skip;
  const char* workdir = plan.workdir.c_str() + skip;
  const char* proc = plan.proc_dir.c_str() + skip;
  // Private /tmp and working directory: size-limited, their pages count against the run's
  // memory cgroup. Code may run from either (a run's own scripts), but nothing setuid.
  if (!mount_tmpfs(tmp, plan.tmp_opts.c_str(), MS_NOSUID | MS_NODEV, err)) return false;
  if (!mount_tmpfs(workdir, plan.workdir_opts.c_str(), MS_NOSUID | MS_NODEV, err)) return false;
  for (const auto& seed : plan.tmp_seeds) {
    if (!seed_file(seed.source.c_str(), seed.target.c_str() + skip, plan.uid, plan.gid, err))
      return false;
  }
  // A fresh /proc for the run's PID namespace: it lists only the run's own processes.
  if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    return fail(err, kStep, "mount(\"proc\", \"%s\")", proc);
  for (const auto& hidden : plan.proc_hidden) {
    const char* path = hidden.c_str() + skip;
    if (mount("/dev/null", path, nullptr, MS_BIND, nullptr) != 0)
      return fail(err, kStep, "mount(\"/dev/null\", \"%s\", MS_BIND)", path);
  }
  for (const auto& readonly : plan.proc_readonly) {
    const char* path = readonly.c_str() + skip;
    if (mount(path, path, nullptr, MS_BIND | MS_REC, nullptr) != 0 ||
        mount(nullptr, path, nullptr,
              MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
      return fail(err, kStep, "mount(\"%s\", MS_BIND|MS_RDONLY)", path);
  }
  return true;
}

bool enter_root(const SandboxPlan& plan, StepError* err) {
  if (syscall(SYS_pivot_root, plan.root.c_str(), plan.old_root.c_str()) != 0)
    return fail(err, kStep, "pivot_root(\"%s\", \"%s\")", plan.root.c_str(), plan.old_root.c_str());
  if (chdir("/") != 0) return fail(err, kStep, "chdir(\"/\")");
  // Detach the host's filesystem: from here on it is unreachable.
  if (umount2("/.oldroot", MNT_DETACH) != 0)
    return fail(err, kStep, "umount2(\"/.oldroot\", MNT_DETACH)");
  if (rmdir("/.oldroot") != 0) return fail(err, kStep, "rmdir(\"/.oldroot\")");
  // The root itself holds only mount points and links: make it read-only.
  if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
            plan.root_tmpfs_opts.c_str()) != 0)
    return fail(err, kStep, "mount(\"/\", MS_REMOUNT|MS_RDONLY)");
  return true;
}

}  // namespace

bool build_root(const SandboxPlan& plan, StepError* err) {
  return build_static(plan, err) && mount_per_run(plan, 0, err) && enter_root(plan, err);
}

bool build_root_template(const SandboxPlan& plan, StepError* err) {
  return build_static(plan, err) && enter_root(plan, err);
}

bool mount_run_filesystems(const SandboxPlan& plan, StepError* err) {
  return mount_per_run(plan, plan.root.size(), err);
}

// The run starts in its working directory, as a script starts next to itself.
bool enter_workdir(StepError* err) {
  if (chdir(kWorkdir) != 0) return fail(err, kStep, "chdir(\"%s\")", kWorkdir);
  return true;
}

}  // namespace pyrunner::sandbox
