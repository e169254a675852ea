#include "support/sandbox_view.h"

#include <unistd.h>

#include <climits>
#include <sstream>

namespace pyrunner::testing {
namespace {

struct NamespaceName {
  const char* reported;  // as GET / names it
  const char* proc;      // /proc/<pid>/ns/<proc>
};
constexpr NamespaceName kNamespaces[] = {{"pid", "pid"},   {"mount", "mnt"}, {"network", "net"},
                                         {"ipc", "ipc"},   {"uts", "uts"},   {"cgroup", "cgroup"},
                                         {"user", "user"}, {"time", "time"}};

std::string ns_link(pid_t pid, const char* name) {
  char target[PATH_MAX];
  const std::string path = "/proc/" + std::to_string(pid) + "/ns/" + name;
  ssize_t n = readlink(path.c_str(), target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : "";
}

}  // namespace

const char* const kSandboxViewProgram = R"PY(
import json, os
ns = {}
for name in ("pid", "mnt", "net", "ipc", "uts", "cgroup", "user", "time"):
    try:
        ns[name] = os.readlink("/proc/self/ns/" + name)
    except OSError as e:
        ns[name] = "unreadable: " + str(e)
status = {}
for line in open("/proc/self/status"):
    key, _, value = line.partition(":")
    status[key] = value.strip()
view = {"ns": ns}
for key in ("NoNewPrivs", "Seccomp", "CapEff"):
    view[key] = status.get(key)
view["Uid"] = status.get("Uid", "").split()[0]
print("VIEW " + json.dumps(view))
)PY";

nlohmann::json parse_sandbox_view(const std::string& stdout_text) {
  std::istringstream lines(stdout_text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("VIEW ", 0) != 0) continue;
    auto j = nlohmann::json::parse(line.substr(5), nullptr, false);
    return j.is_discarded() ? nlohmann::json(nullptr) : j;
  }
  return nullptr;
}

std::vector<std::string> new_namespaces(const nlohmann::json& view,
                                        const std::vector<pid_t>& creators) {
  std::vector<std::string> fresh;
  for (const auto& ns : kNamespaces) {
    const auto& mine = view["ns"][ns.proc];
    if (!mine.is_string() || mine.get<std::string>().rfind(std::string(ns.proc) + ":[", 0) != 0)
      continue;  // unreadable: not shown as new
    bool differs = true;
    for (pid_t creator : creators) {
      const std::string theirs = ns_link(creator, ns.proc);
      if (theirs.empty() || theirs == mine.get<std::string>()) differs = false;
    }
    if (differs) fresh.push_back(ns.reported);
  }
  return fresh;
}

}  // namespace pyrunner::testing
