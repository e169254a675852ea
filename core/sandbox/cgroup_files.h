#pragma once
/// The file operations both cgroup versions are made of (cgroup1.cc, cgroup2.cc): each failure
/// is a Status naming the exact call.

#include <initializer_list>
#include <string>
#include <vector>

#include "core/util/status.h"

namespace pyrunner::sandbox {

inline constexpr const char* kCgroupFs = "/sys/fs/cgroup";

bool path_exists(const std::string& path);
Status make_dir(const std::string& path);
/// make_dir, remounting `mount_point` read-write first if it is read-only: Docker and
/// Kubernetes mount a container's own cgroup tree read-only even for a container given
/// CAP_SYS_ADMIN and a private cgroup namespace. That tree is the container's alone.
Status make_dir_writable(const std::string& path, const std::string& mount_point);
Status write_value(const std::string& path, const std::string& value);
/// The number a one-value file holds (0 if unreadable).
unsigned long long read_number(const std::string& path);
/// Value of `key` in a flat-keyed file such as memory.events ("oom_kill 1"); 0 if absent.
unsigned long long read_key(const std::string& path, const std::string& key);
/// Whether every word of `words` is in the whitespace-separated `text`.
bool has_words(const std::string& text, std::initializer_list<const char*> words);
/// Whether `dir`'s cgroup.procs lists no process.
bool cgroup_empty(const std::string& dir);
/// SIGKILL to every process `procs_file` lists.
void kill_procs(const std::string& procs_file);
/// Removes the cgroup directories, killing what is still in them (through cgroup.kill as well
/// when `v2`) and retrying while the processes drain (rmdir is EBUSY until they have left).
void remove_cgroup_dirs(std::vector<std::string> dirs, bool v2);
/// Marks the directories as just used: CgroupManager::remove_stale_runs of another pyrunner
/// leaves run cgroups alone for a minute after their last use.
void touch_dirs(const std::vector<std::string>& dirs);

}  // namespace pyrunner::sandbox
