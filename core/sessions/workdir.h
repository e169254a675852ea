#pragma once
/// A session's working directory, read from the server through the O_PATH fd its child sent
/// when it was ready (ReadyChild::workdir): the directory as the session's own mount namespace
/// has it, reached with no /proc/<pid>/root (CAP_SYS_PTRACE). Every path is opened with openat2
/// beneath it (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV):
/// no link is ever followed, nothing outside is reachable, and only regular files are read.

#include <sys/stat.h>
#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/util/fd.h"
#include "core/util/status.h"

namespace pyrunner {

/// An open regular file of the working directory, and its size.
struct WorkdirFile {
  UniqueFd fd;
  off_t size = 0;
};

/// Opens `path` (relative, already checked) for reading. "not found" and "not a regular file"
/// errors say so.
Result<WorkdirFile> open_workdir_file(int workdir, const std::string& path);

/// The regular files beneath the working directory, sorted by path: [{"path", "size", "mime"}],
/// at most `limit` (then "truncated": true).
Result<nlohmann::ordered_json> list_workdir(int workdir, size_t limit);

}  // namespace pyrunner
