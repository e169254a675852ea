#include "core/sandbox/cgroup_files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "core/util/fd.h"

namespace pyrunner::sandbox {

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Status make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    return Status::Sys("mkdir(\"" + path + "\")", errno);
  return Status::Ok();
}

Status make_dir_writable(const std::string& path, const std::string& mount_point) {
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return Status::Ok();
  if (errno != EROFS) return Status::Sys("mkdir(\"" + path + "\")", errno);
  if (::mount(nullptr, mount_point.c_str(), nullptr,
              MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    return Status::Sys("mkdir(\"" + path + "\") gave EROFS; mount(\"" + mount_point +
                           "\", MS_REMOUNT|MS_BIND, rw)",
                       errno);
  return make_dir(path);
}

Status write_value(const std::string& path, const std::string& value) {
  if (!write_file(path, value))
    return Status::Sys("write(\"" + path + "\", \"" + value + "\")", errno);
  return Status::Ok();
}

unsigned long long read_number(const std::string& path) {
  std::string text = read_small_file(path);
  return text.empty() ? 0 : std::strtoull(text.c_str(), nullptr, 10);
}

unsigned long long read_key(const std::string& path, const std::string& key) {
  std::istringstream in(read_small_file(path));
  std::string k;
  unsigned long long v;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return 0;
}

bool has_words(const std::string& text, std::initializer_list<const char*> words) {
  std::istringstream in(text);
  std::string w;
  size_t found = 0;
  while (in >> w) {
    for (const char* want : words) found += (w == want);
  }
  return found == words.size();
}

bool cgroup_empty(const std::string& dir) { return read_small_file(dir + "/cgroup.procs").empty(); }

void kill_procs(const std::string& procs_file) {
  std::istringstream in(read_small_file(procs_file));
  pid_t pid;
  while (in >> pid) ::kill(pid, SIGKILL);
}

void remove_cgroup_dirs(std::vector<std::string> dirs, bool v2) {
  // Usually the run's processes are gone by now (its PID 1 was reaped, and its PID namespace
  // with it), so rmdir succeeds at once: only a cgroup still in use is emptied first, and
  // processes take a moment to leave after SIGKILL (rmdir fails with EBUSY until they have).
  for (int attempt = 0; attempt < 500 && !dirs.empty(); ++attempt) {
    for (auto it = dirs.begin(); it != dirs.end();) {
      if (::rmdir(it->c_str()) == 0 || errno == ENOENT) {
        it = dirs.erase(it);
        continue;
      }
      if (v2) write_file(*it + "/cgroup.kill", "1");  // Linux 5.14+
      kill_procs(*it + "/cgroup.procs");
      ++it;
    }
    if (!dirs.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void touch_dirs(const std::vector<std::string>& dirs) {
  for (const auto& dir : dirs) ::utimensat(AT_FDCWD, dir.c_str(), nullptr, 0);
}

}  // namespace pyrunner::sandbox
