#include "support/pool_probe.h"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pyrunner::testing {
namespace {

// Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses).
std::vector<std::string> stat_fields(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(text.substr(close + 1));
  std::vector<std::string> fields;
  std::string field;
  while (rest >> field) fields.push_back(field);
  return fields;  // fields[0] is field 3 (state)
}

// Signals pending for `pid` (SigPnd | ShdPnd of /proc/<pid>/status), bit n-1 for signal n.
unsigned long long pending_signals(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  unsigned long long mask = 0;
  while (std::getline(in, line)) {
    if (line.rfind("SigPnd:", 0) == 0 || line.rfind("ShdPnd:", 0) == 0)
      mask |= std::stoull(line.substr(7), nullptr, 16);
  }
  return mask;
}

}  // namespace

char process_state(pid_t pid) {
  auto fields = stat_fields(pid);
  return fields.empty() ? '?' : fields[0][0];
}

std::optional<ProcessId> live_process(pid_t pid) {
  auto fields = stat_fields(pid);
  if (fields.size() < 20 || fields[0] == "Z" || fields[0] == "X") return std::nullopt;
  return ProcessId{pid, std::stoull(fields[19])};  // field 22
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> children;
  std::error_code ec;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream in(task.path() / "children");
    pid_t child;
    while (in >> child) children.push_back(child);
  }
  std::sort(children.begin(), children.end());
  return children;
}

std::optional<PoolSnapshot> quiet_pool(const TestServer& server, std::chrono::milliseconds limit) {
  std::optional<PoolSnapshot> snapshot;
  eventually(
      [&] {
        snapshot.reset();
        auto h = server.get("/").json();
        if (!h.is_object() || !h["pool"].is_object()) return false;
        const auto& pool = h["pool"];
        if (h["runs"]["running"] != 0 || pool["ready"] != pool["size"]) return false;
        PoolSnapshot s;
        s.zygote = pool["zygote_pid"].get<pid_t>();
        s.restarts = pool["zygote_restarts"].get<int>();
        s.size = pool["size"].get<int>();
        for (pid_t child : children_of(server.pid())) {
          if (child == s.zygote) continue;
          auto live = live_process(child);
          if (!live) return false;  // a zombie not yet reaped
          s.waiting.push_back(*live);
        }
        if (static_cast<int>(s.waiting.size()) != s.size) return false;
        snapshot = s;
        return true;
      },
      limit);
  return snapshot;
}

std::vector<std::string> pool_harm(const TestServer& server, const PoolSnapshot& before, int used,
                                   std::chrono::milliseconds limit) {
  // A child killed a moment ago may still be waiting for the CPU to die (the waiting
  // children are SCHED_IDLE): its pending SIGKILL counts it as gone already. kill() sets the
  // pending bit before it returns, so no signal sent during the program is missed.
  constexpr unsigned long long kSigkill = 1ULL << (SIGKILL - 1);
  std::vector<std::string> alive, gone, signalled;
  eventually(
      [&] {
        alive.clear();
        gone.clear();
        signalled.clear();
        for (const auto& child : before.waiting) {
          const std::string pid = std::to_string(child.pid);
          const unsigned long long pending = pending_signals(child.pid);
          if (live_process(child.pid) != child || (pending & kSigkill)) {
            gone.push_back(pid);
          } else {
            alive.push_back(pid);
            if (pending != 0) {
              std::ostringstream mask;
              mask << std::hex << pending;
              signalled.push_back(pid + " (mask 0x" + mask.str() + ")");
            }
          }
        }
        return static_cast<int>(gone.size()) >= used;
      },
      limit);
  std::vector<std::string> harm;
  auto list = [](const std::vector<std::string>& pids) {
    std::string text;
    for (const auto& p : pids) text += (text.empty() ? "" : ",") + p;
    return text;
  };
  if (static_cast<int>(gone.size()) != used)
    harm.push_back(std::to_string(gone.size()) + " waiting children gone (" + list(gone) +
                   "), but only " + std::to_string(used) + " were used by runs");
  for (const auto& pid : alive) {
    const char state = process_state(std::stoi(pid));
    if (state == 'T' || state == 't') harm.push_back("waiting child " + pid + " is stopped");
  }
  for (const auto& child : signalled)
    harm.push_back("waiting child " + child + " has signals pending");
  auto h = server.get("/").json();
  if (!h.is_object()) {
    harm.push_back("GET / does not answer");
    return harm;
  }
  const auto& pool = h["pool"];
  if (pool["zygote_pid"] != before.zygote)
    harm.push_back("zygote " + std::to_string(before.zygote) + " replaced by " +
                   pool["zygote_pid"].dump());
  if (pool["zygote_restarts"] != before.restarts)
    harm.push_back("zygote restarts " + std::to_string(before.restarts) + " -> " +
                   pool["zygote_restarts"].dump());
  if (!live_process(before.zygote) || (pending_signals(before.zygote) & kSigkill))
    harm.push_back("the zygote process is gone or dying");
  return harm;
}

}  // namespace pyrunner::testing
