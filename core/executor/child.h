#pragma once
/// The run's process: created by clone() into new namespaces, confined, then fed one request.
/// Shared by cold runs (`pyrunner run`, clone from our own process) and warm ones (clone from
/// the zygote).

#include <stdint.h>
#include <sys/types.h>

#include "core/config/config.h"
#include "core/executor/python_runtime.h"
#include "core/sandbox/plan.h"
#include "core/util/fd.h"
#include "core/util/status.h"

namespace pyrunner {

/// What the child needs; it lives in the parent's memory, of which the child has a copy.
struct ChildSpec {
  const sandbox::SandboxPlan* plan = nullptr;
  const Config* config = nullptr;
  const PythonRuntime* warm = nullptr;  // the zygote's preloaded interpreter; null: start cold
};

/// What a request asks of the child.
enum class RequestKind : uint32_t {
  kRun = 0,           // run the code once, then exit
  kSessionStart = 1,  // become a session: write the files, keep the namespace, wait for runs
  kSessionRun = 2,    // one run in the session; sent with 3 fds (its stdin, stdout, stderr)
};

/// Parent -> child on the control socket, followed by `meta_size` bytes of metadata (JSON),
/// `code_size` bytes of code and `data_size` bytes of file contents.
struct RequestHeader {
  uint32_t magic;
  RequestKind kind;
  uint32_t code_size;
  uint32_t meta_size;
  uint32_t data_size;
  uint32_t reserved;
  uint64_t memory_bytes;  // kRun, kSessionStart: the memory limit (RLIMIT_DATA follows it)
};
inline constexpr uint32_t kRequestMagic = 0x50595233;  // "PYR3"

/// Child -> parent on the control socket, one line each:
///   "R\n"            confined and waiting for the request
///   "E <reason>\n"   confinement failed (the child then exits with kSetupFailed)
/// then the runner's messages (display items, files, the outcome record): see record.h.
inline constexpr int kSetupFailed = 121;

/// The child's ends of its channels, moved to fds 0 (stdin), 1, 2 and 3 (control) in the child.
struct ChildChannels {
  UniqueFd stdin_r, stdout_w, stderr_w, control;
};
/// The parent's ends.
struct ParentChannels {
  UniqueFd stdin_w, stdout_r, stderr_r, control;
};
Status make_channels(ParentChannels* parent, ChildChannels* child);

struct SpawnedChild {
  pid_t pid = -1;
  UniqueFd pidfd;
};

/// clone() a confined child running child_main. `sibling`: the child becomes our parent's
/// child (CLONE_PARENT), for the zygote. Call only from a single-threaded process.
Result<SpawnedChild> spawn_child(const ChildSpec& spec, const ChildChannels& ends, bool sibling);

}  // namespace pyrunner
