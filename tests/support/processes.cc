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

}  // namespace pyrunner::testing
