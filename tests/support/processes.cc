#include "support/processes.h"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace pyrunner::testing {

std::vector<std::string> stray_processes(unsigned uid) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(entry.path() / "status");
    std::string line, comm, nspid;
    unsigned real_uid = 0;
    bool has_uid = false;
    while (std::getline(status, line)) {
      if (line.rfind("Name:", 0) == 0) comm = line.substr(6);
      if (line.rfind("Uid:", 0) == 0) {
        real_uid = static_cast<unsigned>(std::stoul(line.substr(5)));
        has_uid = true;
      }
      if (line.rfind("NSpid:", 0) == 0) nspid = line.substr(6);
    }
    if (!has_uid || real_uid != uid) continue;
    std::istringstream ids(nspid);
    std::string last, id;
    while (ids >> id) last = id;
    if (last != "1") found.push_back(name + " " + comm);
  }
  return found;
}

std::set<std::string> run_cgroups() {
  std::set<std::string> found;
  for (const char* parent : {"/sys/fs/cgroup/memory/pyrunner", "/sys/fs/cgroup/pids/pyrunner",
                             "/sys/fs/cgroup/cpu/pyrunner", "/sys/fs/cgroup/pyrunner"}) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(parent, ec)) {
      if (entry.path().filename().string().rfind("run-", 0) == 0) found.insert(entry.path());
    }
  }
  return found;
}

std::vector<std::string> leaked_run_cgroups(const std::set<std::string>& before) {
  std::vector<std::string> found;
  for (int attempt = 0; attempt < 100; ++attempt) {
    found.clear();
    for (const auto& path : run_cgroups()) {
      if (before.count(path)) continue;
      std::ifstream procs(path + "/cgroup.procs");
      std::string pid;
      if (!(procs >> pid)) found.push_back(path);
    }
    if (found.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return found;
}

std::set<std::string> run_cgroup_prefixes_of(pid_t server) {
  std::set<std::string> prefixes;
  for (const auto& dir : run_cgroups()) {
    std::ifstream procs(dir + "/cgroup.procs");
    pid_t pid;
    while (procs >> pid) {
      std::ifstream status("/proc/" + std::to_string(pid) + "/status");
      std::string line;
      pid_t ppid = -1;
      while (std::getline(status, line))
        if (line.rfind("PPid:", 0) == 0) ppid = std::atoi(line.c_str() + 5);
      if (ppid != server) continue;
      const std::string name = std::filesystem::path(dir).filename();
      prefixes.insert(name.substr(0, name.rfind('-') + 1));
    }
  }
  return prefixes;
}

std::vector<std::string> remaining_run_cgroups(const std::set<std::string>& prefixes) {
  std::vector<std::string> found;
  for (int attempt = 0; attempt < 150; ++attempt) {
    found.clear();
    for (const auto& dir : run_cgroups()) {
      const std::string name = std::filesystem::path(dir).filename();
      for (const auto& prefix : prefixes)
        if (name.rfind(prefix, 0) == 0) found.push_back(dir);
    }
    if (found.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return found;
}

OwnRunCgroups::OwnRunCgroups() : before_(run_cgroups()) {
  thread_ = std::thread([this] {
    while (!stop_) {
      for (const auto& path : run_cgroups()) {
        if (before_.count(path)) continue;
        const std::string name = std::filesystem::path(path).filename();
        if (seen_.count(name)) continue;
        std::ifstream procs(path + "/cgroup.procs");
        pid_t pid = 0;
        while (procs >> pid && pid <= 0) {
        }
        if (pid > 0) seen_.insert(name);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
}

OwnRunCgroups::~OwnRunCgroups() { stop(); }

std::set<std::string> OwnRunCgroups::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  return seen_;
}

std::vector<std::string> remaining_run_cgroup_names(const std::set<std::string>& names) {
  std::vector<std::string> found;
  for (int attempt = 0; attempt < 100; ++attempt) {
    found.clear();
    for (const auto& path : run_cgroups()) {
      if (names.count(std::filesystem::path(path).filename())) found.push_back(path);
    }
    if (found.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return found;
}

}  // namespace pyrunner::testing
