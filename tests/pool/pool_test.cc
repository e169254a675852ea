// The warm pool behind `pyrunner serve`: every run is a fresh fork of the zygote (no state
// leaks between runs), the zygote itself stays flat, and the pool survives the zygote's death.
// Runs inside a throwaway PID namespace (make test): the server's pids are visible to us.

#include <httplib.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "support/harness.h"
#include "support/pool_probe.h"
#include "support/processes.h"

namespace {

using namespace pyrunner::testing;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Policy off: the hostile runs of the flat-zygote test must reach the sandbox.
const TestServer& pool_server() {
  static TestServer s("policy:\n  enabled: false\n");
  return s;
}

// POST /run with a client read timeout: a request that hangs shows up as status 0.
HttpResponse run_with(const TestServer& s, const std::string& code, json fields = json::object(),
                      int read_timeout_s = 60) {
  fields["code"] = code;
  httplib::Client client("127.0.0.1", s.port());
  client.set_read_timeout(read_timeout_s);
  client.set_connection_timeout(10);
  HttpResponse r;
  if (auto res = client.Post("/run", fields.dump(), "application/json")) {
    r.status = res->status;
    r.body = res->body;
    for (const auto& [k, v] : res->headers) r.headers[k] = v;
  }
  return r;
}

HttpResponse get_with_timeout(const TestServer& s, const std::string& path, int read_timeout_s) {
  httplib::Client client("127.0.0.1", s.port());
  client.set_read_timeout(read_timeout_s);
  client.set_connection_timeout(10);
  HttpResponse r;
  if (auto res = client.Get(path)) {
    r.status = res->status;
    r.body = res->body;
  }
  return r;
}

json success(const TestServer& s, const std::string& code, json fields = json::object()) {
  auto r = run_with(s, code, std::move(fields));
  INFO(code << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  auto j = r.json();
  REQUIRE(j.is_object());
  REQUIRE(j["status"] == "success");
  return j;
}

json pool_state(const TestServer& s) {
  auto h = s.get("/").json();
  return h.is_object() ? h["pool"] : json();
}

pid_t zygote_pid(const TestServer& s) {
  auto pool = pool_state(s);
  return pool.is_object() ? pool.value("zygote_pid", -1) : -1;
}

// Waits for the pool to be up with at least one child ready, so measurements start warm.
void wait_ready(const TestServer& s) {
  REQUIRE(eventually(
      [&] {
        auto pool = pool_state(s);
        return pool.is_object() && pool.value("zygote_pid", -1) > 0 && pool.value("ready", 0) >= 1;
      },
      std::chrono::seconds(30)));
}

// Waits until every pre-forked child is back: the zygote is then idle, holding no fds of a
// spawn in progress.
void wait_full(const TestServer& s) {
  REQUIRE(eventually(
      [&] {
        auto pool = pool_state(s);
        return pool.is_object() && pool.value("zygote_pid", -1) > 0 &&
               pool.value("ready", 0) == pool.value("size", -1);
      },
      std::chrono::seconds(30)));
}

// Waits until the zygote is blocked in recvmsg(), waiting for its next SPAWN: it has then
// closed every fd of the spawns before. A full pool is not enough: the zygote holds a spawn's
// fds until its answer is sent, and, at SCHED_IDLE, the server that answer wakes preempts it.
void wait_zygote_waiting(pid_t zygote) {
  REQUIRE(eventually(
      [&] {
        std::ifstream f("/proc/" + std::to_string(zygote) + "/syscall");
        std::string number;
        f >> number;
        return number == std::to_string(SYS_recvmsg);
      },
      std::chrono::seconds(30)));
}

struct ProcessShape {
  long rss_kb = -1;
  int threads = -1;
  int fds = -1;
};

ProcessShape shape_of(pid_t pid) {
  ProcessShape p;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) p.rss_kb = std::atol(line.c_str() + 6);
    if (line.rfind("Threads:", 0) == 0) p.threads = std::atoi(line.c_str() + 8);
  }
  std::error_code ec;
  int fds = 0;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
       !ec && it != end; it.increment(ec))
    ++fds;
  if (!ec) p.fds = fds;
  return p;
}

// Pids of the pooled children of `s` waiting for code: once the pool is full and quiet, the
// server's children other than the zygote (which clones them as the server's: CLONE_PARENT).
std::vector<pid_t> waiting_children(const TestServer& s) {
  auto pool = quiet_pool(s, std::chrono::seconds(30));
  REQUIRE(pool.has_value());
  std::vector<pid_t> found;
  for (const auto& child : pool->waiting) found.push_back(child.pid);
  return found;
}

}  // namespace

TEST_CASE("pooled runs do not share random state", "[serve][pool]") {
  const auto& s = pool_server();
  const std::string code = "import random, numpy as np\nprint(random.random(), np.random.rand())";
  auto first = success(s, code)["stdout"].get<std::string>();
  auto second = success(s, code)["stdout"].get<std::string>();
  INFO(first << second);
  CHECK(first != second);
  // Neither number repeats: both generators are reseeded, not just one of them.
  auto split = [](const std::string& line) {
    auto space = line.find(' ');
    return std::make_pair(line.substr(0, space), line.substr(space + 1));
  };
  CHECK(split(first).first != split(second).first);
  CHECK(split(first).second != split(second).second);
}

TEST_CASE("a pooled child reseeds by writing the generators' states", "[serve][pool]") {
  // The fast path (seal() located both states): seeding through the libraries leaves the first
  // state word at exactly 0x80000000, fresh random words almost never do. Each run has a full
  // new state, at the position where the next draw regenerates from it, and no cached normal.
  const auto& s = pool_server();
  const std::string code =
      "import random, numpy as np\n"
      "name, key, pos, has_gauss, _ = np.random.get_state()\n"
      "_, internal, gauss_next = random.getstate()\n"
      "print(int(key[0]) != 0x80000000, int(key[0]) >= 0x80000000, pos, has_gauss,\n"
      "      internal[0] != 0x80000000, internal[0] >= 0x80000000, internal[624], gauss_next)\n"
      "print(int(key[1]), internal[1])";
  auto first = success(s, code)["stdout"].get<std::string>();
  auto second = success(s, code)["stdout"].get<std::string>();
  INFO(first << second);
  const std::string expected = "True True 624 0 True True 624 None\n";
  CHECK(first.rfind(expected, 0) == 0);
  CHECK(second.rfind(expected, 0) == 0);
  CHECK(first.substr(expected.size()) != second.substr(expected.size()));
}

TEST_CASE("a pooled run's own forks still reset threading, logging and random", "[serve][pool]") {
  // The zygote holds back these fork hooks (its children need not run them) and each child
  // registers them again: a program that forks must still get them.
  const auto& s = pool_server();
  const std::string code = R"PY(
import os, threading, logging, random
release = threading.Event()
waiter = threading.Thread(target=release.wait)
waiter.start()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    logging.getLogger("child").handlers[:] = []
    logging.getLogger("child").warning("logging works in the child")
    os.write(w, ("%d %r" % (threading.active_count(), random.random())).encode())
    os._exit(0)
os.close(w)
os.waitpid(pid, 0)
child_threads, child_random = os.read(r, 100).decode().split()
release.set()
waiter.join()
print(child_threads, child_random != repr(random.random()))
)PY";
  auto j = success(s, code);
  CHECK(j["stdout"] == "1 True\n");
  CHECK(j["stderr"].get<std::string>().find("logging works in the child") != std::string::npos);
}

TEST_CASE("a run has normal priority; the zygote and waiting children are background work",
          "[serve][pool]") {
  const auto& s = pool_server();
  CHECK(success(s, "import os\nprint(os.sched_getscheduler(0) == os.SCHED_OTHER)")["stdout"] ==
        "True\n");
  wait_full(s);
  CHECK(sched_getscheduler(zygote_pid(s)) == SCHED_IDLE);
  auto children = waiting_children(s);
  CHECK(children.size() == 4);
  for (pid_t pid : children) {
    INFO("child " << pid);
    CHECK(sched_getscheduler(pid) == SCHED_IDLE);
  }
}

TEST_CASE("the zygote's libraries are mapped compactly", "[serve][pool]") {
  const auto& s = pool_server();
  wait_ready(s);
  // Headers, text and constants of each shared object are one mapping (merge_library_mappings),
  // its writable image one anonymous mapping (anonymize_library_data), and the object arenas
  // one region: ~1200 mappings with the default preload otherwise.
  std::ifstream maps("/proc/" + std::to_string(zygote_pid(s)) + "/maps");
  std::string line;
  int total = 0, libpython_executable = 0, file_writable = 0;
  unsigned long anonymous_code_end = 0, libpython_code_start = 0, libpython_code_offset = 0;
  bool arena_reserve = false;
  while (std::getline(maps, line)) {
    ++total;
    std::istringstream fields(line);
    std::string range, perms, offset, device, inode, path;
    fields >> range >> perms >> offset >> device >> inode >> path;
    unsigned long start = std::stoul(range, nullptr, 16);
    unsigned long end = std::stoul(range.substr(range.find('-') + 1), nullptr, 16);
    if (path.find("libpython3") != std::string::npos && perms == "r-xp") {
      ++libpython_executable;
      libpython_code_start = start;
      libpython_code_offset = std::stoul(offset, nullptr, 16);
    }
    if (path.empty() && perms == "r-xp") anonymous_code_end = end;
    if (!path.empty() && path[0] == '/' && perms == "rw-p") ++file_writable;
    // The unused part of the arenas' 4 GiB reservation: one inaccessible anonymous mapping.
    if (perms == "---p" && end - start > (3UL << 30)) arena_reserve = true;
  }
  INFO("zygote mappings: " << total);
  CHECK(libpython_executable == 1);
  // Where the kernel can collapse it (6.1+), the first 2 MiB-aligned part of libpython's code
  // is anonymous huge pages (collapse_text_to_huge_pages), right before the rest of the file.
  if (libpython_code_offset != 0) CHECK(anonymous_code_end == libpython_code_start);
  CHECK(file_writable == 0);
  CHECK(arena_reserve);
  CHECK(total < 600);
}

TEST_CASE("the zygote lives in the runs' root template, away from the host's filesystem",
          "[serve][pool]") {
  const auto& s = pool_server();
  wait_ready(s);
  const std::string root = "/proc/" + std::to_string(zygote_pid(s)) + "/root";
  CHECK(std::filesystem::exists(root + "/usr/bin/python3"));
  CHECK(std::filesystem::exists(root + "/dev/null"));
  // What the host has and a run must not see: the test's own working tree, /run, /home.
  CHECK_FALSE(std::filesystem::exists(root + std::filesystem::current_path().string()));
  CHECK_FALSE(std::filesystem::exists(root + "/run"));
  // /home holds only the mount point of the runs' working directory, empty in the template.
  CHECK(std::filesystem::is_empty(root + "/home/user"));
  CHECK(std::distance(std::filesystem::directory_iterator(root + "/home"), {}) == 1);
  // Each run still has its own /tmp on top of it, and the shared parts are read-only.
  success(s, "open('/tmp/mine', 'w').write('x')");
  CHECK(success(s, "import os; print(os.path.exists('/tmp/mine'))")["stdout"] == "False\n");
  CHECK(success(s,
                "import os; print(os.statvfs('/dev').f_flag & os.ST_RDONLY != 0, "
                "os.statvfs('/').f_flag & os.ST_RDONLY != 0)")["stdout"] == "True True\n");
}

TEST_CASE("a module imported by one run is not imported in the next", "[serve][pool]") {
  const auto& s = pool_server();
  // Not `fractions`: the preload (sympy) imports it already, so it is in every run's
  // sys.modules and would test nothing. `wave` is in no preloaded library.
  CHECK(success(s, "import sys; print('wave' in sys.modules)")["stdout"] == "False\n");
  CHECK(success(s, "import wave; import sys; print('wave' in sys.modules)")["stdout"] == "True\n");
  CHECK(success(s, "import sys; print('wave' in sys.modules)")["stdout"] == "False\n");
  // State set on a preloaded module is not seen by the next run either.
  success(s, "import numpy as np\nnp.leaked_by_previous_run = 1\nnp.set_printoptions(precision=1)");
  CHECK(success(s,
                "import numpy as np\nprint(hasattr(np, 'leaked_by_previous_run'), "
                "np.get_printoptions()['precision'])")["stdout"] == "False 8\n");
}

TEST_CASE("matplotlib state is fresh in every run", "[serve][pool]") {
  const auto& s = pool_server();
  const std::string code =
      "import matplotlib.pyplot as plt\nimport matplotlib as mpl\n"
      "print(len(plt.get_fignums()), mpl.rcParams['lines.linewidth'])\n"
      "plt.figure()\nmpl.rcParams['lines.linewidth'] = 7.5";
  auto first = success(s, code)["stdout"].get<std::string>();
  auto second = success(s, code)["stdout"].get<std::string>();
  CHECK(first.rfind("0 ", 0) == 0);
  CHECK(second.rfind("0 ", 0) == 0);
  CHECK(second.find("7.5") == std::string::npos);
  CHECK(first == second);
}

TEST_CASE("a pooled run's memory_used is its own, not the zygote's", "[serve][pool]") {
  const auto& s = pool_server();
  wait_ready(s);
  const auto zygote = shape_of(zygote_pid(s));
  INFO("zygote VmRSS " << zygote.rss_kb << " kB");
  CHECK(zygote.rss_kb > 100 * 1024);  // numpy, pandas, scipy, sklearn, sympy, matplotlib
  auto j = success(s, "print(1)");
  INFO(j.dump());
  REQUIRE(j["memory_used"].is_number());
  CHECK(j["memory_used"].get<double>() > 0);
  CHECK(j["memory_used"].get<double>() < 30);
}

// The highest run number of the run cgroups ("run-<instance>-<n>") of `instances` (prefixes
// "run-<instance>-") in the cgroup v1 memory hierarchy: how many cgroups those pyrunners
// have created so far. Other pyrunners on the host (other test binaries) are not counted.
unsigned long v1_run_cgroups_created(const std::set<std::string>& instances) {
  unsigned long created = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/fs/cgroup/memory/pyrunner", ec)) {
    const std::string name = e.path().filename();
    const size_t dash = name.rfind('-');
    if (name.rfind("run-", 0) != 0 || !instances.count(name.substr(0, dash + 1))) continue;
    created = std::max(created, std::stoul(name.substr(dash + 1)));
  }
  return created;
}

bool cgroup_v1_memory() { return std::filesystem::exists("/sys/fs/cgroup/memory/pyrunner"); }

TEST_CASE("run cgroups are reused (v1), and a reused one reports only its own run",
          "[serve][pool]") {
  const bool v1 = cgroup_v1_memory();
  const auto& s = pool_server();
  wait_ready(s);
  // A large run and one the OOM killer stops: their cgroups come back to later runs.
  auto big = success(s, "x = bytearray(150 * 1024 * 1024)\nprint(len(x))");
  CHECK(big["memory_used"].get<double>() > 140);
  // (Files in /tmp and the working directory are charged to the cgroup but not to RLIMIT_DATA:
  // the kernel's OOM killer stops this one, not a MemoryError.)
  auto oom = run_with(s,
                      "for path in ('/tmp/f', 'f'):\n"
                      "    with open(path, 'wb') as f:\n"
                      "        for i in range(40):\n"
                      "            f.write(b'x' * 1000000)\n",
                      {{"memory_limit", 64}});
  REQUIRE(oom.status == 200);
  CHECK(oom.json()["status"] == "memory_exceeded");
  wait_full(s);
  std::set<std::string> instance;  // this server's cgroups, not other pyrunners' on the host
  unsigned long before = 0;
  if (v1) {
    instance = run_cgroup_prefixes_of(s.pid());
    REQUIRE(instance.size() == 1);
    before = v1_run_cgroups_created(instance);
  }
  for (int i = 0; i < 40; ++i) {
    if (i >= 20) {
      // Killed, but not by the OOM killer: in the bomb's old cgroup (the pool cycles through
      // fewer than 20), its OOM kill is not this run's.
      auto r = run_with(s, "import ctypes\nctypes.string_at(0)");  // SIGSEGV
      INFO("run " << i << ": " << r.body);
      REQUIRE(r.status == 200);
      CHECK(r.json()["status"] == "error");
      continue;
    }
    auto j = success(s, "print(1)");
    INFO("run " << i << ": " << j.dump());
    CHECK(j["memory_used"].get<double>() < 30);  // neither the 150 MB nor the bomb's peak
  }
  wait_full(s);
  if (!v1) {
    WARN(
        "SKIPPED: the reuse count (no cgroup v1 memory hierarchy here; only v1 reuses run "
        "cgroups). The memory_used checks above did run.");
    return;
  }
  const unsigned long created = v1_run_cgroups_created(instance) - before;
  INFO("cgroups created during 40 runs: " << created);
  CHECK(created < 20);
}

TEST_CASE("GET / shows the pool", "[serve][pool]") {
  const auto& s = pool_server();
  wait_ready(s);
  auto pool = pool_state(s);
  INFO(pool.dump());
  CHECK(pool["enabled"] == true);
  CHECK(pool["size"] == 4);
  CHECK(pool["ready"].get<int>() >= 1);
  CHECK(pool["ready"].get<int>() <= 4);
  CHECK(pool["zygote_pid"].get<int>() > 0);
  CHECK(pool["zygote_uptime_s"].is_number());
  REQUIRE(pool["preloaded"].is_array());
  for (const char* module : {"numpy", "pandas", "sympy", "scipy", "sklearn", "matplotlib"}) {
    INFO(module);
    CHECK(std::find(pool["preloaded"].begin(), pool["preloaded"].end(), module) !=
          pool["preloaded"].end());
  }
  auto metrics = s.get("/metrics").body;
  CHECK(metrics.find("pyrunner_pool_size 4\n") != std::string::npos);
}

TEST_CASE("the zygote stays flat over 200 hostile runs", "[serve][pool]") {
  const auto& s = pool_server();
  wait_ready(s);
  for (int i = 0; i < 10; ++i) success(s, "import numpy, pandas\nprint(" + std::to_string(i) + ")");
  wait_full(s);
  const pid_t zygote = zygote_pid(s);
  REQUIRE(zygote > 0);
  wait_zygote_waiting(zygote);
  const auto before = shape_of(zygote);
  REQUIRE(before.rss_kb > 0);
  REQUIRE(before.fds > 0);
  CHECK(before.threads == 1);

  std::map<std::string, int> statuses;
  for (int i = 0; i < 200; ++i) {
    std::string code;
    json fields = {{"timeout", 10}};
    switch (i % 4) {
      case 0:
        code = "print(" + std::to_string(i) + ")";
        break;
      case 1:
        code = "1/0";
        break;
      case 2:
        code = "import os\nos.kill(-1, 9)";
        break;
      case 3:
        code = "import numpy as np\na = np.ones((1000, 1000, 100))";
        fields["memory_limit"] = 64;
        break;
    }
    auto r = run_with(s, code, fields);
    INFO("run " << i << ": " << code << " -> " << r.status << " " << r.body.substr(0, 300));
    REQUIRE(r.status == 200);
    const std::string status = r.json()["status"];
    ++statuses[status];
    if (i % 4 == 0) CHECK(status == "success");
    if (i % 4 == 1) CHECK(r.json()["error"] == "ZeroDivisionError: division by zero");
    // PID 1 of its own namespace and alone in it: kill(-1) finds nobody to signal.
    if (i % 4 == 2) CHECK(r.json()["error"] == "ProcessLookupError: [Errno 3] No such process");
    if (i % 4 == 3) CHECK(status == "memory_exceeded");
  }
  CHECK(statuses["success"] == 50);
  CHECK(statuses["error"] == 100);
  CHECK(statuses["memory_exceeded"] == 50);

  REQUIRE(zygote_pid(s) == zygote);  // the same zygote all along: no restart hid a leak
  wait_full(s);
  wait_zygote_waiting(zygote);
  const auto after = shape_of(zygote);
  INFO("VmRSS " << before.rss_kb << " -> " << after.rss_kb << " kB, threads " << before.threads
                << " -> " << after.threads << ", fds " << before.fds << " -> " << after.fds);
  CHECK(after.threads == 1);
  CHECK(after.fds == before.fds);
  CHECK(after.rss_kb - before.rss_kb < 10 * 1024);
}

TEST_CASE("a killed zygote is replaced and runs resume", "[serve][pool]") {
  // Its own: the zygote and pool are killed. No preload: the zygote comes back sooner.
  TestServer s("policy:\n  enabled: false\npython:\n  preload: []\n");
  wait_ready(s);
  const auto before = pool_state(s);
  const pid_t old_zygote = before["zygote_pid"].get<int>();
  const int old_restarts = before["zygote_restarts"].get<int>();
  REQUIRE(old_zygote > 0);
  REQUIRE(kill(old_zygote, SIGKILL) == 0);

  // While it restarts every request is answered (200 or 503) within the client's timeout.
  std::set<int> run_answers, health_answers;
  json pool;
  const bool replaced = eventually(
      [&] {
        auto h = get_with_timeout(s, "/", 20);
        health_answers.insert(h.status);
        auto r = run_with(s, "print(1)", json::object(), 20);
        run_answers.insert(r.status);
        if (r.status == 200) CHECK(r.json()["status"] == "success");
        if (r.status != 200) {
          INFO("run during restart: " << r.status << " " << r.body);
          CHECK(r.status == 503);
          if (r.status == 503) CHECK(r.headers.count("Retry-After") == 1);
        }
        pool = h.status == 200 ? h.json()["pool"] : json();
        return pool.is_object() && pool["zygote_pid"].get<int>() > 0 &&
               pool["zygote_pid"].get<int>() != old_zygote &&
               pool["zygote_restarts"].get<int>() >= 1;
      },
      std::chrono::seconds(30));
  INFO("last pool state " << pool.dump());
  REQUIRE(replaced);
  for (int status : health_answers) CHECK((status == 200 || status == 503));
  for (int status : run_answers) CHECK((status == 200 || status == 503));
  CHECK(pool["zygote_restarts"].get<int>() >= old_restarts + 1);
  CHECK(success(s, "print(1)")["stdout"] == "1\n");
  wait_ready(s);
}

TEST_CASE("with the pool off, runs still succeed", "[serve][pool]") {
  TestServer s("pool:\n  enabled: false\n");
  auto j = success(s, "print(1)");
  CHECK(j["stdout"] == "1\n");
  auto numpy = success(s, "import numpy as np\nprint(int(np.arange(5).sum()))");
  CHECK(numpy["stdout"] == "10\n");
  auto pool = pool_state(s);
  INFO(pool.dump());
  CHECK(pool["enabled"] == false);
  CHECK(pool["ready"] == 0);
  CHECK(pool["preloaded"].empty());
}
