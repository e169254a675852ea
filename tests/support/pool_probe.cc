#include "support/pool_probe.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pyrunner::testing {
namespace {

// A /proc file whole, or what could be read of it: a process that exits while it is read makes
// read() fail with ESRCH (which std::ifstream turns into an exception).
std::string read_proc(const std::string& path) {
  std::string text;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(fd);
  return text;
}

// Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses).
std::vector<std::string> stat_fields(pid_t pid) {
  const std::string text = read_proc("/proc/" + std::to_string(pid) + "/stat");
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
  std::istringstream in(read_proc("/proc/" + std::to_string(pid) + "/status"));
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
    std::istringstream in(read_proc(task.path() / "children"));
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
  // Each waiting child of the snapshot ends up either gone or still waiting untouched; the
  // used ones finish (their program's end, then the reaper's kill) some time after the
  // answer, so wait for every child to be one or the other before counting.
  //   gone:    no longer that process, a zombie, or SIGKILL pending: a child killed a moment
  //            ago may still wait for the CPU to die (waiting children are SCHED_IDLE), and
  //            kill() marks the signal pending before it returns, so none is missed
  //   waiting: asleep (S) with nothing pending, as a child blocked on its channel is
  // Anything else (running, stopped, signalled) is a child in transition, or harmed.
  constexpr unsigned long long kSigkill = 1ULL << (SIGKILL - 1);
  std::vector<std::string> gone, unsettled;
  const bool settled = eventually(
      [&] {
        gone.clear();
        unsettled.clear();
        for (const auto& child : before.waiting) {
          const std::string pid = std::to_string(child.pid);
          const unsigned long long pending = pending_signals(child.pid);
          const auto now = live_process(child.pid);
          if (!now || now->start != child.start || (pending & kSigkill)) {
            gone.push_back(pid);
            continue;
          }
          const char state = process_state(child.pid);
          if (state == 'S' && pending == 0) continue;
          std::ostringstream why;
          why << pid << " (state " << state << ", pending 0x" << std::hex << pending << ")";
          unsettled.push_back(why.str());
        }
        return unsettled.empty() && static_cast<int>(gone.size()) >= used;
      },
      limit);
  std::vector<std::string> harm;
  auto list = [](const std::vector<std::string>& items) {
    std::string text;
    for (const auto& p : items) text += (text.empty() ? "" : ", ") + p;
    return text;
  };
  if (static_cast<int>(gone.size()) > used || (settled && static_cast<int>(gone.size()) != used))
    harm.push_back(std::to_string(gone.size()) + " waiting children gone (" + list(gone) +
                   "), but only " + std::to_string(used) + " were used by runs");
  if (!settled && !unsettled.empty())
    harm.push_back("waiting children stopped, running or signalled: " + list(unsettled));
  else if (!settled)
    harm.push_back("the children the runs used are still there: " + list(gone));
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
