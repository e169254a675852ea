#include "core/sandbox/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "core/util/fd.h"

namespace pyrunner::sandbox {
namespace {

// Refused with EPERM: each is something Python code never needs and an escape often does.
struct Denied {
  const char* name;
  const char* why;
};
constexpr Denied kDenied[] = {
    {"ptrace", "inspecting or steering other processes"},
    {"process_vm_readv", "reading another process's memory"},
    {"process_vm_writev", "writing another process's memory"},
    {"pidfd_getfd", "stealing another process's file descriptors"},
    {"kcmp", "probing other processes' kernel objects"},
    {"mount", "changing the filesystem view"},
    {"umount2", "uncovering what the sandbox mounted over"},
    {"pivot_root", "changing the root"},
    {"chroot", "changing the root"},
    {"open_tree", "new mount API"},
    {"move_mount", "new mount API"},
    {"fsopen", "new mount API"},
    {"fsconfig", "new mount API"},
    {"fsmount", "new mount API"},
    {"fspick", "new mount API"},
    {"mount_setattr", "new mount API"},
    {"unshare", "new namespaces (user namespaces give back capabilities)"},
    {"setns", "joining other namespaces"},
    {"bpf", "kernel programs"},
    {"perf_event_open", "kernel profiling, a classic kernel attack surface"},
    {"keyctl", "kernel keyrings are not namespaced"},
    {"add_key", "kernel keyrings are not namespaced"},
    {"request_key", "kernel keyrings are not namespaced"},
    {"init_module", "kernel modules"},
    {"finit_module", "kernel modules"},
    {"delete_module", "kernel modules"},
    {"kexec_load", "replacing the kernel"},
    {"kexec_file_load", "replacing the kernel"},
    {"reboot", "host power"},
    {"swapon", "host swap"},
    {"swapoff", "host swap"},
    {"syslog", "kernel log"},
    {"acct", "host process accounting"},
    {"settimeofday", "host clock"},
    {"clock_settime", "host clock"},
    {"clock_adjtime", "host clock"},
    {"adjtimex", "host clock"},
    {"quotactl", "host quotas"},
    {"io_uring_setup", "io_uring bypasses seccomp for the I/O it performs"},
    {"io_uring_enter", "io_uring bypasses seccomp for the I/O it performs"},
    {"io_uring_register", "io_uring bypasses seccomp for the I/O it performs"},
    {"userfaultfd", "a tool for kernel race exploits"},
    {"open_by_handle_at", "opens files outside the mount namespace (shocker)"},
    {"name_to_handle_at", "pairs with open_by_handle_at"},
    {"lookup_dcookie", "kernel internals"},
    {"fanotify_init", "filesystem-wide monitoring"},
    {"inotify_init", "watching shared read-only files reveals other runs' activity"},
    {"inotify_init1", "watching shared read-only files reveals other runs' activity"},
    {"vhangup", "terminal control"},
    {"iopl", "raw port I/O"},
    {"ioperm", "raw port I/O"},
    {"uselib", "obsolete loader entry point"},
    {"personality", "READ_IMPLIES_EXEC and other legacy execution domains"},
    {"mbind", "NUMA policy of the host"},
    {"migrate_pages", "moving other processes' memory"},
    {"move_pages", "moving other processes' memory"},
    {"set_mempolicy", "NUMA policy of the host"},
    {"sysfs", "obsolete kernel introspection"},
    {"nfsservctl", "obsolete kernel server control"},
};

// Namespace flags refused in clone(): a run stays in the namespaces it was given.
constexpr int kNamespaceFlags[] = {CLONE_NEWUSER, CLONE_NEWNS,  CLONE_NEWPID,   CLONE_NEWNET,
                                   CLONE_NEWIPC,  CLONE_NEWUTS, CLONE_NEWCGROUP};

struct CtxDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};

Status rule_failed(const char* what, int rc) {
  return Status::Sys(std::string("seccomp_rule_add(") + what + ")", -rc);
}

}  // namespace

Result<std::vector<sock_filter>> compile_seccomp_filter() {
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return Status::Error("seccomp_init failed");
  // Any syscall of a foreign ABI (i386 `int 0x80`, x32) kills the process: it would bypass
  // every rule written for x86_64 numbers.
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc < 0) return Status::Sys("seccomp_attr_set(ACT_BADARCH)", -rc);
  // A binary tree of syscall numbers instead of a list: loading the filter, which every run
  // does, makes the kernel evaluate it once per syscall number to fill its allow-cache, under
  // a lock with interrupts off. 96 -> 48 us per run here.
  rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (rc < 0) return Status::Sys("seccomp_attr_set(CTL_OPTIMIZE)", -rc);

  for (const auto& d : kDenied) {
    int nr = seccomp_syscall_resolve_name(d.name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), nr, 0);
    if (rc < 0) return rule_failed(d.name, rc);
  }
  for (int flag : kNamespaceFlags) {
    rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                          SCMP_A0(SCMP_CMP_MASKED_EQ, static_cast<scmp_datum_t>(flag),
                                  static_cast<scmp_datum_t>(flag)));
    if (rc < 0) return rule_failed("clone", rc);
  }
  // clone3 passes its flags in memory, where a filter cannot look: ENOSYS makes glibc and
  // CPython fall back to clone(), which the rules above do check.
  rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc < 0) return rule_failed("clone3", rc);
  // Sockets: only AF_UNIX (multiprocessing, local pipes). The network namespace is empty
  // anyway; this also closes netlink, packet and other kernel-facing families.
  rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                        SCMP_A0(SCMP_CMP_NE, AF_UNIX));
  if (rc < 0) return rule_failed("socket", rc);
  rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socketpair), 1,
                        SCMP_A0(SCMP_CMP_NE, AF_UNIX));
  if (rc < 0) return rule_failed("socketpair", rc);
  // TIOCSTI pushes characters into a terminal's input: a classic way out of a sandbox that
  // shares a tty. TIOCLINUX does the same on virtual consoles.
  for (unsigned long request :
       {static_cast<unsigned long>(TIOCSTI), static_cast<unsigned long>(TIOCLINUX)}) {
    rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                          SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFu, request));
    if (rc < 0) return rule_failed("ioctl", rc);
  }

  UniqueFd mem(memfd_create("pyrunner-seccomp", MFD_CLOEXEC));
  if (!mem.valid()) return Status::Sys("memfd_create", errno);
  rc = seccomp_export_bpf(ctx.get(), mem.get());
  if (rc < 0) return Status::Sys("seccomp_export_bpf", -rc);
  off_t size = lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) return Status::Error("seccomp: bad BPF size");
  std::vector<sock_filter> program(static_cast<size_t>(size) / sizeof(sock_filter));
  if (pread(mem.get(), program.data(), static_cast<size_t>(size), 0) != size)
    return Status::Sys("pread(seccomp bpf)", errno);
  return program;
}

bool install_seccomp(const std::vector<sock_filter>& filter, StepError* err) {
  // no_new_privs: nothing exec'd later can gain privileges (setuid binaries, file caps).
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return fail(err, "seccomp", "prctl(PR_SET_NO_NEW_PRIVS)");
  sock_fprog prog{static_cast<unsigned short>(filter.size()),
                  const_cast<sock_filter*>(filter.data())};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
    return fail(err, "seccomp", "prctl(PR_SET_SECCOMP, %zu instructions)", filter.size());
  return true;
}

}  // namespace pyrunner::sandbox
