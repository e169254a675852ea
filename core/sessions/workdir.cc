#include "core/sessions/workdir.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <functional>

#include "core/files/mime.h"
#include "core/sandbox/plan.h"
#include "core/util/utf8.h"

namespace pyrunner {
namespace {

constexpr unsigned long long kResolve =
    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;

// Every directory this many levels down is left out of a listing.
constexpr int kMaxDepth = 32;

int open_beneath(int dir, const char* path, unsigned long long flags) {
  open_how how{};
  how.flags = flags | O_CLOEXEC | O_NOFOLLOW;
  how.resolve = kResolve;
  long fd;
  do {
    fd = syscall(SYS_openat2, dir, path, &how, sizeof how);
  } while (fd < 0 && errno == EINTR);
  return static_cast<int>(fd);
}

Result<UniqueFd> open_root(int workdir) {
  UniqueFd dir(open_beneath(workdir, ".", O_RDONLY | O_DIRECTORY));
  if (!dir.valid()) return Status::Sys("open(the session's working directory)", errno);
  return dir;
}

}  // namespace

Result<WorkdirFile> open_workdir_file(int workdir, const std::string& path) {
  auto root = open_root(workdir);
  if (!root.ok()) return root.status();
  // O_NONBLOCK: a FIFO must not block the server (it is refused below anyway).
  UniqueFd fd(open_beneath(root->get(), path.c_str(), O_RDONLY | O_NONBLOCK));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::Error("not found");
    if (errno == ELOOP || errno == EXDEV) return Status::Error("not a regular file (a link)");
    return Status::Sys("openat2", errno);
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Status::Sys("fstat", errno);
  if (!S_ISREG(st.st_mode)) return Status::Error("not a regular file");
  WorkdirFile file;
  file.fd = std::move(fd);
  file.size = st.st_size;
  return file;
}

Result<nlohmann::ordered_json> list_workdir(int workdir, size_t limit) {
  auto root = open_root(workdir);
  if (!root.ok()) return root.status();
  std::vector<std::pair<std::string, off_t>> found;
  bool truncated = false;
  std::function<void(int, const std::string&, int)> walk = [&](int dir, const std::string& prefix,
                                                               int depth) {
    UniqueFd own(dup(dir));
    DIR* d = fdopendir(own.release());
    if (d == nullptr) return;
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      struct stat st;
      if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISREG(st.st_mode)) {
        if (found.size() >= limit) {
          truncated = true;
          break;
        }
        found.emplace_back(prefix + name, st.st_size);
      } else if (S_ISDIR(st.st_mode) && depth < kMaxDepth) {
        UniqueFd sub(open_beneath(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY));
        if (sub.valid()) walk(sub.get(), prefix + name + "/", depth + 1);
      }
    }
    closedir(d);
  };
  walk(root->get(), "", 0);
  std::sort(found.begin(), found.end());
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  for (const auto& [path, size] : found) {
    files.push_back({{"path", sanitize_utf8(path)}, {"size", size}, {"mime", mime_type_of(path)}});
  }
  return nlohmann::ordered_json{{"files", files}, {"truncated", truncated}};
}

}  // namespace pyrunner
