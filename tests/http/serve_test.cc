// `pyrunner serve`: the HTTP contract of the real binary on a free loopback port. Every route,
// every 4xx, overload, disconnects, SIGTERM and hostile code with the static policy off.
// Runs inside a throwaway PID namespace (make test), so /proc shows only our own tree.

#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "support/harness.h"
#include "support/openapi_producers.h"
#include "support/pool_probe.h"
#include "support/processes.h"
#include "support/raw_connection.h"
#include "support/sandbox_view.h"

namespace {

using namespace pyrunner::testing;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

using namespace std::chrono_literals;

// Policy off (hostile cases) and a small admission, so that overload is easy to reach.
constexpr const char* kMainConfig =
    "policy:\n  enabled: false\n"
    "server:\n  max_concurrent_runs: 2\n  max_queue: 8\n  queue_timeout: 2\n";

// The server the stateless request/answer tests share: each request is answered and nothing
// of it is left when the next test starts, so their order does not matter. A test that
// changes the server (kills its zygote, overloads it, counts its metrics, attacks its pool)
// starts a server of its own instead.
const TestServer& server() {
  static TestServer s(kMainConfig);
  return s;
}

// A server of a test's own whose runs need none of the preloaded libraries: without the
// preload its zygote is ready in a fraction of a second instead of seconds.
std::string light(const std::string& yaml) { return yaml + "python:\n  preload: []\n"; }

HttpResponse convert(const httplib::Result& res) {
  HttpResponse r;
  if (!res) {
    r.body = "no answer: " + httplib::to_string(res.error());  // status stays 0
    return r;
  }
  r.status = res->status;
  r.body = res->body;
  for (const auto& [k, v] : res->headers) r.headers[k] = v;
  return r;
}

// Any method, any headers, on loopback.
HttpResponse request(const TestServer& s, const std::string& method, const std::string& path,
                     const std::string& body = "", const httplib::Headers& headers = {},
                     int read_timeout_s = 60) {
  httplib::Client client("127.0.0.1", s.port());
  client.set_read_timeout(read_timeout_s);
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.headers = headers;
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req.body = body;
    if (!req.has_header("Content-Type")) req.set_header("Content-Type", "application/json");
  }
  return convert(client.send(req));
}

HttpResponse run_with(const TestServer& s, const std::string& code, json fields = json::object(),
                      int read_timeout_s = 60) {
  fields["code"] = code;
  return request(s, "POST", "/run", fields.dump(), {}, read_timeout_s);
}

json health(const TestServer& s) { return s.get("/").json(); }

int runs_field(const TestServer& s, const char* field) {
  auto h = health(s);
  if (!h.is_object() || !h.contains("runs")) return -1;
  return h["runs"].value(field, -1);
}

void check_detail_names(const HttpResponse& r, int status, const std::string& field) {
  INFO("response " << r.status << ": " << r.body);
  CHECK(r.status == status);
  auto j = r.json();
  REQUIRE(j.is_object());
  CHECK(j.size() == 1);
  REQUIRE(j.contains("detail"));
  REQUIRE(j["detail"].is_string());
  const std::string detail = j["detail"];
  CHECK(detail.rfind(field + ": ", 0) == 0);
  CHECK(detail.size() > field.size() + 2);  // a reason follows the field
  CHECK(r.headers.count("Content-Type") == 1);
  CHECK(r.headers.at("Content-Type").find("application/json") != std::string::npos);
}

void check_still_serving(const TestServer& s) {
  auto h = s.get("/");
  CHECK(h.status == 200);
  auto r = run_with(s, "print(1)");
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.json()["status"] == "success");
  CHECK(r.json()["stdout"] == "1\n");
}

// Holds `n` run slots of a server with runs that end only when their client hangs up (the
// server kills the run of a client that disconnects), so an overload lasts exactly as long as
// the test wants, however slow the machine.
class HeldSlots {
 public:
  HeldSlots(const TestServer& s, int n) : s_(s) {
    const std::string body =
        json{{"code", "import time\ntime.sleep(3600)"}, {"timeout", 300}}.dump();
    for (int i = 0; i < n; ++i) {
      conns_.push_back(std::make_unique<RawConnection>(s.port()));
      conns_.back()->send_all(
          "POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
          "Content-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body);
    }
    held_ = eventually([&] { return runs_field(s, "running") == n; }, 30s);
  }
  ~HeldSlots() { release(); }
  bool held() const { return held_; }
  // Hangs up; true once the server has no run left.
  bool release() {
    for (auto& c : conns_) c->close();
    conns_.clear();
    return eventually([&] { return runs_field(s_, "running") == 0; }, 30s);
  }

 private:
  const TestServer& s_;
  std::vector<std::unique_ptr<RawConnection>> conns_;
  bool held_ = false;
};

// A request while the only slot is taken and there is no queue: refused at once.
HttpResponse queue_full_answer() {
  TestServer s(light("server:\n  max_concurrent_runs: 1\n  max_queue: 0\n"));
  HeldSlots held(s, 1);
  REQUIRE(held.held());
  return run_with(s, "print(1)");
}

// A request that waits in the queue past queue_timeout while the only slot stays taken.
HttpResponse waited_too_long_answer() {
  TestServer s(light("server:\n  max_concurrent_runs: 1\n  max_queue: 1\n  queue_timeout: 1\n"));
  HeldSlots held(s, 1);
  REQUIRE(held.held());
  return run_with(s, "print(1)");
}

void check_overload_answer(const HttpResponse& r, int status) {
  INFO("response " << r.status << ": " << r.body);
  CHECK(r.status == status);
  REQUIRE(r.headers.count("Retry-After") == 1);
  CHECK(std::atoi(r.headers.at("Retry-After").c_str()) >= 1);
  CHECK(r.json().contains("detail"));
}

// Kills the zygote and catches GET / answering 503 while it restarts; then waits for 200.
HttpResponse health_while_zygote_restarts(const TestServer& s) {
  auto before = health(s);
  REQUIRE(before["pool"]["zygote_pid"].get<int>() > 0);
  const pid_t zygote = before["pool"]["zygote_pid"].get<int>();
  REQUIRE(kill(zygote, SIGKILL) == 0);
  HttpResponse seen;
  eventually(
      [&] {
        seen = s.get("/");
        return seen.status == 503;
      },
      std::chrono::seconds(15));
  const bool back = eventually(
      [&] {
        auto h = s.get("/");
        return h.status == 200 && h.json()["pool"]["zygote_pid"].get<int>() != zygote &&
               h.json()["pool"]["ready"].get<int>() >= 1;
      },
      std::chrono::seconds(30));
  CHECK(back);
  return seen;
}

std::string cmdline(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (auto& c : text)
    if (c == '\0') c = ' ';
  return text;
}

struct ProcInfo {
  pid_t ppid = 0;
  long uid = -1;
  char state = '?';
};

std::optional<ProcInfo> proc_info(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) return std::nullopt;
  ProcInfo p;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("State:", 0) == 0 && line.size() > 7) p.state = line[7];
    if (line.rfind("PPid:", 0) == 0) p.ppid = std::atoi(line.c_str() + 5);
    if (line.rfind("Uid:", 0) == 0) p.uid = std::atol(line.c_str() + 4);
  }
  return p;
}

// Live processes that belong to no live server: with uid 65534 (code, pooled children) or a
// zygote. A server's leftovers are reparented to PID 1 of our namespace (this test binary),
// while the children of the other servers this binary runs still descend from a `serve`.
std::vector<std::string> orphaned_sandbox_processes() {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::atoi(name.c_str());
    auto info = proc_info(pid);
    if (!info || info->state == 'Z' || info->state == 'X') continue;  // dead already
    const std::string cmd = cmdline(pid);
    if (info->uid != 65534 && cmd.find("pyrunner zygote") == std::string::npos) continue;
    bool under_server = false;
    for (pid_t p = info->ppid; p > 1;) {
      auto up = proc_info(p);
      if (!up) break;
      if (up->state != 'Z' && cmdline(p).find(" serve ") != std::string::npos) {
        under_server = true;
        break;
      }
      p = up->ppid;
    }
    if (!under_server) found.push_back(name + " uid " + std::to_string(info->uid) + " " + cmd);
  }
  return found;
}

}  // namespace

TEST_CASE("GET / reports service, limits, libraries, isolation and pool", "[serve]") {
  const auto& s = server();
  REQUIRE(quiet_pool(s, 30s).has_value());
  auto r = s.get("/");
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.headers.at("Content-Type").find("application/json") != std::string::npos);
  auto h = r.json();
  REQUIRE(h.is_object());
  CHECK(h["service"] == "pyrunner");
  CHECK(h["status"] == "ok");
  REQUIRE(h["version"].is_string());
  CHECK_FALSE(h["version"].get<std::string>().empty());

  // Blocks rather than SECTIONs: Catch2 would run the test case, and start a server, once per
  // section.
  {  // limits are the configured ones
    const auto& l = h["limits"];
    CHECK(l["timeout"]["default"] == 30);
    CHECK(l["timeout"]["min"] == 1);
    CHECK(l["timeout"]["max"] == 300);
    CHECK(l["memory_limit_mb"]["default"] == 512);
    CHECK(l["memory_limit_mb"]["min"] == 64);
    CHECK(l["memory_limit_mb"]["max"] == 2048);
    CHECK(l["max_code_bytes"] == 1048576);
    CHECK(l["max_output_bytes"] == 1048576);
  }
  {  // every library of the stack, with a version
    for (const char* lib : {"numpy", "pandas", "scipy", "sklearn", "sympy", "matplotlib"}) {
      INFO(lib);
      REQUIRE(h["libraries"].contains(lib));
      REQUIRE(h["libraries"][lib].is_string());
      const std::string version = h["libraries"][lib];
      REQUIRE_FALSE(version.empty());
      CHECK(std::isdigit(static_cast<unsigned char>(version[0])));
    }
  }
  {  // isolation layers
    const auto& iso = h["isolation"];
    REQUIRE(iso["cgroup"].is_string());
    const std::string cgroup = iso["cgroup"];
    CHECK((cgroup.find("v1") != std::string::npos || cgroup.find("v2") != std::string::npos));
    CHECK(iso["degraded"] == false);
    // What a run really gets is checked against this report in "a pooled run is in exactly
    // the namespaces GET / reports"; here, that the report is the whole sandbox.
    CHECK(iso["seccomp"] == true);
    CHECK(iso["no_new_privs"] == true);
    CHECK(iso["capabilities"] == "none");
    CHECK(iso["uid"] == 65534);
    CHECK(iso["namespaces"] ==
          std::vector<std::string>{"pid", "mount", "network", "ipc", "uts", "cgroup"});
    CHECK(iso["static_policy"] == false);  // this server's config turns it off
  }
  {  // pool and run state
    const auto& pool = h["pool"];
    CHECK(pool["enabled"] == true);
    CHECK(pool["size"] == 4);
    CHECK(pool["ready"] == 4);  // full: quiet_pool waited for that
    CHECK(pool["zygote_pid"].get<int>() > 0);
    CHECK(pool["zygote_restarts"] == 0);
    const auto& runs = h["runs"];
    CHECK(runs["running"] == 0);
    CHECK(runs["waiting"] == 0);
    CHECK(runs["max_concurrent"] == 2);
    CHECK(runs["max_queue"] == 8);
  }
}

TEST_CASE("a pooled run is in exactly the namespaces GET / reports, with its seccomp", "[serve]") {
  const auto& s = server();
  auto h = health(s);
  REQUIRE(h.is_object());
  const auto& iso = h["isolation"];
  const pid_t zygote = h["pool"]["zygote_pid"].get<int>();
  REQUIRE(zygote > 0);
  auto r = run_with(s, kSandboxViewProgram);
  INFO(r.body);
  REQUIRE(r.status == 200);
  REQUIRE(r.json()["status"] == "success");
  auto view = parse_sandbox_view(r.json()["stdout"]);
  REQUIRE(view.is_object());
  // The run is cloned by the zygote as a child of the server: new means unlike both.
  CHECK(new_namespaces(view, {s.pid(), zygote}) ==
        iso["namespaces"].get<std::vector<std::string>>());
  CHECK((view["NoNewPrivs"] == "1") == iso["no_new_privs"].get<bool>());
  CHECK((view["Seccomp"] == "2") == iso["seccomp"].get<bool>());
  CHECK((view["CapEff"] == "0000000000000000") == (iso["capabilities"] == "none"));
  CHECK(view["Uid"] == std::to_string(iso["uid"].get<int>()));
}

TEST_CASE("GET /openapi.json lists exactly the real paths, methods and statuses", "[serve]") {
  TestServer s(kMainConfig);  // its zygote is killed below; preloading, it is down long enough
  auto r = s.get("/openapi.json");
  REQUIRE(r.status == 200);
  auto doc = r.json();
  REQUIRE(doc.is_object());
  REQUIRE(doc["openapi"].is_string());
  CHECK(doc["openapi"].get<std::string>().rfind("3.", 0) == 0);
  CHECK(doc["info"]["title"].is_string());
  CHECK(doc["info"]["version"].is_string());
  REQUIRE(doc["paths"].is_object());
  CHECK(doc["components"]["schemas"].contains("RunRequest"));
  CHECK(doc["components"]["schemas"].contains("RunResult"));

  // How to make the server answer each (path, method, status); other features' test files
  // register theirs (support/openapi_producers.h).
  std::map<std::string, std::function<HttpResponse()>> producers = {
      {"POST /run 200", [&] { return run_with(s, "print(1)"); }},
      {"POST /run 400", [&] { return request(s, "POST", "/run", "{\"code\": "); }},
      {"POST /run 413",
       [&] { return request(s, "POST", "/run", std::string((10 << 20) + 1, 'a')); }},
      {"POST /run 422", [&] { return request(s, "POST", "/run", "{}"); }},
      {"POST /run 429", [&] { return queue_full_answer(); }},
      {"POST /run 503", [&] { return waited_too_long_answer(); }},
      {"GET / 200", [&] { return s.get("/"); }},
      {"GET / 503", [&] { return health_while_zygote_restarts(s); }},
      {"GET /openapi.json 200", [&] { return s.get("/openapi.json"); }},
      {"GET /metrics 200", [&] { return s.get("/metrics"); }},
  };
  for (const auto& [key, produce] : openapi_producers())
    producers.emplace(key, [&s, produce] { return produce(s); });

  std::set<std::string> listed_routes;  // "METHOD /path"
  size_t checked = 0;
  for (const auto& [path, methods] : doc["paths"].items()) {
    for (const auto& [method_lower, op] : methods.items()) {
      std::string method = method_lower;
      for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      listed_routes.insert(method + " " + path);
      REQUIRE(op["responses"].is_object());
      for (const auto& [code, response] : op["responses"].items()) {
        const std::string key = method + " " + path + " " + code;
        INFO(key);
        CHECK(response.contains("description"));
        auto producer = producers.find(key);
        if (producer == producers.end()) {
          FAIL_CHECK("the document lists " << key << ", which this test cannot produce");
          continue;
        }
        auto answer = producer->second();
        INFO("answer " << answer.status << ": " << answer.body.substr(0, 300));
        CHECK(answer.status == std::stoi(code));
        ++checked;
      }
    }
  }
  // At least what the HTTP contract promises.
  for (const char* key : {"POST /run 200", "POST /run 400", "POST /run 413", "POST /run 422",
                          "GET / 200", "GET /openapi.json 200", "GET /metrics 200"}) {
    INFO(key);
    const std::string k = key;
    const auto space = k.rfind(' ');
    CHECK(listed_routes.count(k.substr(0, space)) == 1);
    const auto first = k.find(' ');
    CHECK(doc["paths"][k.substr(first + 1, space - first - 1)]
             [k.substr(0, first) == "GET" ? "get" : "post"]["responses"]
                 .contains(k.substr(space + 1)));
  }
  CHECK(checked >= 7);
}

TEST_CASE("every route the server answers is listed in /openapi.json", "[serve]") {
  const auto& s = server();
  auto doc = s.get("/openapi.json").json();
  REQUIRE(doc["paths"].is_object());
  std::set<std::string> listed_routes;  // "METHOD /path"
  for (const auto& [path, methods] : doc["paths"].items()) {
    for (const auto& [method, op] : methods.items()) {
      std::string upper = method;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      listed_routes.insert(upper + " " + path);
    }
  }
  // Probe the listed paths and likely unlisted ones with every method; anything but 404 (no
  // such path) or 405 (a listed path, another method) is a route. HEAD (answered by GET
  // handlers) and OPTIONS (the CORS preflight) are HTTP plumbing rather than API operations.
  std::set<std::string> paths = {"/health",       "/healthz", "/ready",    "/readyz",    "/status",
                                 "/version",      "/docs",    "/run/",     "/api/run",   "/v1/run",
                                 "/openapi.yaml", "/stats",   "/metrics/", "/index.html"};
  for (const auto& [path, methods] : doc["paths"].items()) paths.insert(path);
  for (const auto& path : paths) {
    for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
      auto answer = request(s, method, path, std::string(method) == "GET" ? "" : "{}");
      const std::string route = std::string(method) + " " + path;
      INFO(route << " -> " << answer.status << " " << answer.body.substr(0, 200));
      REQUIRE(answer.status != 0);
      if (answer.status == 405) {
        CHECK(doc["paths"].contains(path));
        CHECK_FALSE(answer.headers["Allow"].empty());
      } else if (answer.status != 404) {
        CHECK(listed_routes.count(route) == 1);
      }
    }
  }
}

TEST_CASE("a run's log line has its status and how long the server took", "[serve]") {
  // `make bench` reads duration_ms from these lines as the server-side latency.
  TestServer s(light(kMainConfig));
  REQUIRE(s.run("print(1)").status == 200);
  const std::regex line(R"(POST /run 200 status=success duration_ms=[0-9]+\.[0-9]{2} code_bytes=)");
  CHECK(eventually([&] { return std::regex_search(s.log(), line); }, 10s));
  INFO(s.log());
}

TEST_CASE("GET /metrics is Prometheus text that counts requests and runs", "[serve]") {
  TestServer s(light(kMainConfig));  // its own: the counts below are exact
  auto before = s.get("/metrics");
  REQUIRE(before.status == 200);
  CHECK(before.headers.at("Content-Type").find("text/plain") == 0);
  for (const char* family :
       {"pyrunner_http_requests_total", "pyrunner_runs_total", "pyrunner_run_duration_seconds",
        "pyrunner_runs_in_flight", "pyrunner_rejected_total"}) {
    INFO(family);
    CHECK(before.body.find(std::string("# TYPE ") + family + " ") != std::string::npos);
  }
  const char* success = "pyrunner_runs_total{status=\"success\"}";
  const char* inf_bucket = "pyrunner_run_duration_seconds_bucket{le=\"+Inf\"}";
  const char* run_200 = "pyrunner_http_requests_total{route=\"/run\",code=\"200\"}";
  const char* metrics_200 = "pyrunner_http_requests_total{route=\"/metrics\",code=\"200\"}";
  CHECK(metric(before.body, "pyrunner_runs_in_flight") == 0.0);
  CHECK(metric(before.body, "pyrunner_rejected_total") == 0.0);
  CHECK(metric(before.body, success) == 0.0);
  CHECK(metric(before.body, inf_bucket) == 0.0);
  CHECK_FALSE(metric(before.body, run_200).has_value());  // nothing asked yet

  auto run = run_with(s, "print(2+2)");
  REQUIRE(run.status == 200);
  // A request is counted once its answer has been sent, which is also when the client has it:
  // wait for the count rather than assume the order.
  HttpResponse after;
  CHECK(eventually(
      [&] {
        after = s.get("/metrics");
        return metric(after.body, run_200).has_value();
      },
      10s));
  CHECK(metric(after.body, run_200) == 1.0);
  CHECK(metric(after.body, success) == 1.0);
  CHECK(metric(after.body, inf_bucket) == 1.0);
  CHECK(metric(after.body, "pyrunner_run_duration_seconds_count") == 1.0);
  CHECK(metric(after.body, "pyrunner_runs_in_flight") == 0.0);
  // The scrapes before counted themselves.
  CHECK(metric(after.body, metrics_200).value_or(0) >= 1);
}

TEST_CASE("bad requests get a 4xx whose detail names the field", "[serve]") {
  const auto& s = server();
  auto post = [&](const std::string& body) { return request(s, "POST", "/run", body); };

  SECTION("unparseable JSON is 400") {
    check_detail_names(post("{\"code\": "), 400, "body");
    check_detail_names(post("not json at all"), 400, "body");
    check_detail_names(post(""), 400, "body");
  }
  SECTION("a body that is not an object is 422") {
    check_detail_names(post("[1, 2]"), 422, "body");
    check_detail_names(post("\"print(1)\""), 422, "body");
  }
  SECTION("wrong types are 422") {
    check_detail_names(post(R"j({"code": 5})j"), 422, "code");
    check_detail_names(post(R"j({"code": ["print(1)"]})j"), 422, "code");
    check_detail_names(post(R"j({"code": "print(1)", "timeout": "x"})j"), 422, "timeout");
    check_detail_names(post(R"j({"code": "print(1)", "timeout": 2.5})j"), 422, "timeout");
    check_detail_names(post(R"j({"code": "print(1)", "memory_limit": true})j"), 422,
                       "memory_limit");
    check_detail_names(post(R"j({"code": "print(1)", "stdin": 7})j"), 422, "stdin");
  }
  SECTION("missing or empty code is 422") {
    check_detail_names(post("{}"), 422, "code");
    check_detail_names(post(R"j({"code": null})j"), 422, "code");
    check_detail_names(post(R"j({"code": ""})j"), 422, "code");
  }
  SECTION("limits out of range are 422") {
    check_detail_names(post(R"j({"code": "print(1)", "timeout": 0})j"), 422, "timeout");
    check_detail_names(post(R"j({"code": "print(1)", "timeout": 301})j"), 422, "timeout");
    check_detail_names(post(R"j({"code": "print(1)", "memory_limit": 63})j"), 422, "memory_limit");
    check_detail_names(post(R"j({"code": "print(1)", "memory_limit": 2049})j"), 422,
                       "memory_limit");
  }
  SECTION("the boundaries themselves are accepted") {
    auto r = run_with(s, "print('edge')", {{"timeout", 1}, {"memory_limit", 64}});
    INFO(r.body);
    CHECK(r.status == 200);
    r = run_with(s, "print('edge')", {{"timeout", 300}, {"memory_limit", 2048}});
    INFO(r.body);
    CHECK(r.status == 200);
  }
  SECTION("code over 1 MiB is 422, exactly 1 MiB is run") {
    std::string code(1 << 20, '#');
    auto ok = run_with(s, code);
    INFO(ok.body);
    CHECK(ok.status == 200);
    CHECK(ok.json()["status"] == "success");
    check_detail_names(run_with(s, code + "#"), 422, "code");
  }
  SECTION("a body over server.max_body_bytes is 413") {
    auto r = request(s, "POST", "/run", json{{"code", std::string((10 << 20) + 16, '#')}}.dump());
    check_detail_names(r, 413, "body");
  }
}

TEST_CASE("invalid UTF-8 never breaks the JSON", "[serve]") {
  const auto& s = server();
  SECTION("invalid bytes in the request body are a 4xx, never 500") {
    for (const std::string& body :
         {std::string("{\"code\": \"print(1)\xff\"}"),
          std::string("{\"code\": \"print('\xc3\x28')\"}"),
          std::string("{\"code\": \"print(1)\", \"note\": \"\xfe\xff\"}"),
          std::string("{\"code\": \"print(1)\", \"timeout\": \xff}"),
          std::string("{\"code\": \"print('\\ud800')\"}"),  // a lone surrogate escape
          std::string("\xef\xbb\xbf{\"code\": \"print(1)\"}\xff")}) {
      auto r = request(s, "POST", "/run", body);
      INFO("body " << body << " -> " << r.status << " " << r.body);
      CHECK((r.status == 400 || r.status == 422));
      CHECK(r.json().is_object());
      CHECK(r.json()["detail"].is_string());
    }
    check_still_serving(s);
  }
  SECTION("invalid UTF-8 in the output is replaced with U+FFFD") {
    auto r = run_with(s, "import sys; sys.stdout.buffer.write(b\"\\xff\\xfe ok\\n\")");
    INFO(r.body);
    REQUIRE(r.status == 200);
    auto j = r.json();
    REQUIRE(j.is_object());
    CHECK(j["status"] == "success");
    const std::string out = j["stdout"];
    CHECK(out.find("\xef\xbf\xbd") != std::string::npos);  // U+FFFD
    CHECK(out.find(" ok\n") != std::string::npos);
    CHECK(out.find('\xff') == std::string::npos);
  }
  SECTION("invalid UTF-8 in stderr and in the error line too") {
    auto r = run_with(s,
                      "import sys\nsys.stderr.buffer.write(b'\\xc0\\n')\n"
                      "raise ValueError(b'\\xff'.decode('latin-1'))");
    INFO(r.body);
    REQUIRE(r.status == 200);
    auto j = r.json();
    REQUIRE(j.is_object());
    CHECK(j["status"] == "error");
    CHECK(j["stderr"].get<std::string>().find("\xef\xbf\xbd") != std::string::npos);
  }
}

TEST_CASE("unknown fields are ignored and stdin feeds input()", "[serve]") {
  const auto& s = server();
  auto r = run_with(s, "name = input()\nn = int(input())\nprint(name * n)",
                    {{"stdin", "ab\n3\n"}, {"language", "python"}, {"extra", {{"a", 1}}}});
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.json()["status"] == "success");
  CHECK(r.json()["stdout"] == "ababab\n");

  auto eof = run_with(s, "input()");
  INFO(eof.body);
  REQUIRE(eof.status == 200);
  CHECK(eof.json()["status"] == "error");
  CHECK(eof.json()["error"].get<std::string>().find("EOFError") != std::string::npos);
}

TEST_CASE("the six classic cases over HTTP", "[serve]") {
  const auto& s = server();
  auto result = [&](const std::string& code, json fields = json::object()) {
    auto r = run_with(s, code, std::move(fields));
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(r.headers.count("X-Run-Status") == 1);
    auto j = r.json();
    REQUIRE(j.is_object());
    for (const char* key : {"status", "stdout", "stderr", "execution_time", "memory_used", "error",
                            "exit_code", "truncated"}) {
      INFO(key);
      CHECK(j.contains(key));
    }
    CHECK(r.headers["X-Run-Status"] == j["status"].get<std::string>());
    return j;
  };

  SECTION("print(2+2)") {
    auto j = result("print(2+2)");
    CHECK(j["status"] == "success");
    CHECK(j["stdout"] == "4\n");
    CHECK(j["stderr"] == "");
    CHECK(j["error"].is_null());
    CHECK(j["exit_code"] == 0);
    CHECK(j["truncated"] == false);
    CHECK(j["memory_used"].get<double>() > 0);
  }
  SECTION("sympy expand and factor") {
    auto j = result(
        "import sympy as sp\nx = sp.symbols('x')\nprint(sp.expand((x + 1)**2))\n"
        "print(sp.factor(x**2 - 1))");
    CHECK(j["status"] == "success");
    CHECK(j["stdout"] == "x**2 + 2*x + 1\n(x - 1)*(x + 1)\n");
  }
  SECTION("numpy mean, std, cumsum") {
    auto j = result(
        "import numpy as np\na = np.array([1, 2, 3, 4])\n"
        "print(a.mean(), a.std(), a.cumsum().tolist())");
    CHECK(j["status"] == "success");
    CHECK(j["stdout"] == "2.5 1.118033988749895 [1, 3, 6, 10]\n");
  }
  SECTION("1/0") {
    auto j = result("1/0");
    CHECK(j["status"] == "error");
    REQUIRE(j["error"].is_string());
    CHECK(j["error"].get<std::string>().find("ZeroDivisionError") != std::string::npos);
    CHECK(j["stderr"].get<std::string>().find("Traceback") != std::string::npos);
    CHECK(j["exit_code"] != 0);
  }
  SECTION("a sleep past its timeout keeps the output it flushed") {
    auto j =
        result("import time\nprint(\"partial\", flush=True)\ntime.sleep(35)", {{"timeout", 2}});
    CHECK(j["status"] == "timeout");
    CHECK(j["stdout"].get<std::string>().find("partial") != std::string::npos);
    REQUIRE(j["error"].is_string());
    CHECK(j["error"].get<std::string>().find("timed out") != std::string::npos);
  }
  SECTION("numpy allocations past memory_limit") {
    for (const char* fn : {"zeros", "ones"}) {
      INFO(fn);
      auto j = result(std::string("import numpy as np\na = np.") + fn + "((1000,1000,100))",
                      {{"memory_limit", 256}});
      CHECK(j["status"] == "memory_exceeded");
      REQUIRE(j["error"].is_string());
      CHECK(j["error"].get<std::string>().find("256") != std::string::npos);
      CHECK(j["memory_used"].is_number());
    }
  }
}

TEST_CASE("50 concurrent mixed requests each get their own result", "[serve]") {
  // Two slots and a queue that holds every client for as long as it takes: each must get its
  // own answer (refusals are the overload test's business, on purpose and one at a time).
  TestServer s(
      light("policy:\n  enabled: false\n"
            "server:\n  max_concurrent_runs: 2\n  max_queue: 64\n  queue_timeout: 300\n"));
  constexpr int kClients = 50;
  struct Outcome {
    int kind = 0;
    HttpResponse answer;
  };
  std::vector<Outcome> outcomes(kClients);
  std::latch start(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      Outcome& o = outcomes[static_cast<size_t>(i)];
      o.kind = i % 3;
      const std::string n = std::to_string(i);
      const std::string code = o.kind == 0 ? "print(" + n + ")"
                               : o.kind == 1
                                   ? "raise ValueError('client " + n + "')"
                                   : "import time\ntime.sleep(0." + std::to_string(2 + i % 4) +
                                         ")\nprint('slept " + n + "')";
      start.arrive_and_wait();
      o.answer = run_with(s, code, {{"timeout", 10}}, 300);
    });
  }
  for (auto& t : threads) t.join();

  for (int i = 0; i < kClients; ++i) {
    const auto& o = outcomes[static_cast<size_t>(i)];
    const std::string n = std::to_string(i);
    INFO("client " << i << " kind " << o.kind << " -> " << o.answer.status << " "
                   << o.answer.body.substr(0, 300));
    REQUIRE(o.answer.status == 200);
    auto j = o.answer.json();
    if (o.kind == 0) {
      CHECK(j["status"] == "success");
      CHECK(j["stdout"] == n + "\n");
    } else if (o.kind == 1) {
      CHECK(j["status"] == "error");
      CHECK(j["error"] == "ValueError: client " + n);
    } else {
      CHECK(j["status"] == "success");
      CHECK(j["stdout"] == "slept " + n + "\n");
    }
  }
  const auto metrics = s.get("/metrics").body;
  CHECK(metric(metrics, "pyrunner_rejected_total") == 0.0);
  CHECK(metric(metrics, "pyrunner_runs_in_flight") == 0.0);
  CHECK(runs_field(s, "running") == 0);
  CHECK(runs_field(s, "waiting") == 0);
  check_still_serving(s);
}

TEST_CASE("overload: a full queue is refused at once, a wait past queue_timeout is 503",
          "[serve]") {
  SECTION("every slot and queue place taken: 429, and the queued runs go on afterwards") {
    TestServer s(
        light("server:\n  max_concurrent_runs: 2\n  max_queue: 8\n  queue_timeout: 300\n"));
    HeldSlots held(s, 2);
    REQUIRE(held.held());
    std::vector<HttpResponse> queued(8);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < queued.size(); ++i)
      threads.emplace_back([&, i] { queued[i] = run_with(s, "print('queued')", {}, 300); });
    const bool all_waiting = eventually([&] { return runs_field(s, "waiting") == 8; }, 60s);
    HttpResponse extra;
    if (all_waiting) extra = run_with(s, "print('one too many')");
    CHECK(held.release());  // the queued runs get the slots now
    for (auto& t : threads) t.join();
    REQUIRE(all_waiting);
    check_overload_answer(extra, 429);
    CHECK(extra.json()["detail"] == "server busy: every run slot is taken and the queue is full");
    for (const auto& q : queued) {
      INFO("queued: " << q.status << " " << q.body);
      CHECK(q.status == 200);
      CHECK(q.json()["stdout"] == "queued\n");
    }
    CHECK(metric(s.get("/metrics").body, "pyrunner_rejected_total") == 1.0);
  }
  SECTION("a slot that stays taken past queue_timeout: 503") {
    TestServer s(light("server:\n  max_concurrent_runs: 1\n  max_queue: 4\n  queue_timeout: 1\n"));
    HeldSlots held(s, 1);
    REQUIRE(held.held());
    auto answer = run_with(s, "print(1)");
    check_overload_answer(answer, 503);
    CHECK(answer.json()["detail"] == "server busy: no run slot freed up in time");
    CHECK(metric(s.get("/metrics").body, "pyrunner_rejected_total") == 1.0);
    CHECK(held.release());
    check_still_serving(s);
  }
}

TEST_CASE("a client that hangs up mid-run has its run killed", "[serve]") {
  TestServer s(light(kMainConfig));
  REQUIRE(runs_field(s, "running") == 0);
  RawConnection conn(s.port());
  REQUIRE(conn.connected());
  const std::string body = json{{"code", "import time\ntime.sleep(60)"}, {"timeout", 120}}.dump();
  REQUIRE(
      conn.send_all("POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    "Content-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body));
  REQUIRE(eventually([&] { return runs_field(s, "running") == 1; }, std::chrono::seconds(15)));
  conn.close();
  CHECK(eventually([&] { return runs_field(s, "running") == 0; }, std::chrono::seconds(5)));
  CHECK(eventually([&] { return metric(s.get("/metrics").body, "pyrunner_runs_in_flight") == 0.0; },
                   std::chrono::seconds(5)));
  check_still_serving(s);
}

TEST_CASE("hostile code with the policy off ends as it must and harms neither server nor pool",
          "[serve]") {
  TestServer s(light(kMainConfig));
  struct Case {
    const char* name;
    std::string code;
    int timeout;
    const char* status;
    const char* error;   // exact, or null for none
    const char* stdout;  // exact, or null for "any"
  };
  const Case cases[] = {
      // The run is PID 1 of its own namespace and alone in it: kill(-1) finds nobody.
      {"kill every process it can see", "import os, signal\nos.kill(-1, signal.SIGKILL)", 10,
       "error", "ProcessLookupError: [Errno 3] No such process", ""},
      // Its parent is outside the namespace (getppid() is 0), so this is kill(0): its own
      // process group, which is itself, the namespace's init, immune to SIGKILL from inside.
      {"kill its parent", "import os\nos.kill(os.getppid(), 9)\nprint(os.getppid())", 10, "success",
       nullptr, "0\n"},
      {"kill PID 1", "import os\nos.kill(1, 9)\nprint('alive')", 10, "success", nullptr, "alive\n"},
      // pids.max stops it: some fork of the main process fails with EAGAIN.
      {"a fork bomb", "import os\nwhile True:\n    os.fork()", 3, "error",
       "BlockingIOError: [Errno 11] Resource temporarily unavailable", nullptr},
      {"an output flood", "while True: print(\"x\"*1000)", 2, "timeout",
       "Execution timed out after 2 s", nullptr},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto before = quiet_pool(s, 30s);
    REQUIRE(before.has_value());
    auto r = run_with(s, c.code, {{"timeout", c.timeout}});
    INFO("-> " << r.status << " " << r.body.substr(0, 400));
    REQUIRE(r.status == 200);
    auto j = r.json();
    CHECK(j["status"] == c.status);
    if (c.error != nullptr) {
      CHECK(j["error"] == c.error);
    } else {
      CHECK(j["error"].is_null());
    }
    if (c.stdout != nullptr) CHECK(j["stdout"] == c.stdout);
    if (j["status"] == "timeout") {
      CHECK(j["truncated"] == true);
      CHECK(j["stdout"].get<std::string>().size() <= (1u << 20));
    }
    for (const auto& harm : pool_harm(s, *before, 1, 10s)) FAIL_CHECK(harm);
  }
  check_still_serving(s);
}

TEST_CASE("CORS headers and the preflight", "[serve]") {
  const auto& s = server();
  const httplib::Headers origin = {{"Origin", "http://example.com"}};
  auto get = request(s, "GET", "/", "", origin);
  CHECK(get.status == 200);
  CHECK(get.headers["Access-Control-Allow-Origin"] == "*");
  auto run = request(s, "POST", "/run", R"j({"code": "print(1)"})j", origin);
  CHECK(run.status == 200);
  CHECK(run.headers["Access-Control-Allow-Origin"] == "*");
  auto bad = request(s, "POST", "/run", "{", origin);
  CHECK(bad.status == 400);
  CHECK(bad.headers["Access-Control-Allow-Origin"] == "*");

  auto preflight = request(s, "OPTIONS", "/run", "",
                           {{"Origin", "http://example.com"},
                            {"Access-Control-Request-Method", "POST"},
                            {"Access-Control-Request-Headers", "Content-Type"}});
  CHECK(preflight.status == 204);
  CHECK(preflight.headers["Access-Control-Allow-Origin"] == "*");
  REQUIRE(preflight.headers.count("Access-Control-Allow-Methods") == 1);
  CHECK(preflight.headers["Access-Control-Allow-Methods"].find("POST") != std::string::npos);
  CHECK(preflight.headers["Access-Control-Allow-Headers"].find("Content-Type") !=
        std::string::npos);
}

TEST_CASE("unknown routes are 404 with a JSON detail", "[serve]") {
  const auto& s = server();
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/nope"}, {"POST", "/nope"}, {"GET", "/run/extra"}, {"DELETE", "/nope"}}) {
    auto r = request(s, method, path, method == "GET" ? "" : "{}");
    INFO(method << " " << path << " -> " << r.status << " " << r.body);
    CHECK(r.status == 404);
    CHECK(r.headers["Content-Type"].find("application/json") != std::string::npos);
    REQUIRE(r.json().is_object());
    CHECK(r.json()["detail"].get<std::string>().find(path) != std::string::npos);
  }
  SECTION("a real path with another method is 405 with Allow") {
    auto r = request(s, "DELETE", "/", "{}");
    CHECK(r.status == 405);
    CHECK(r.headers["Allow"] == "GET, OPTIONS");
    CHECK(request(s, "GET", "/run", "").headers["Allow"] == "POST, OPTIONS");
  }
  SECTION("a path that decodes to invalid UTF-8") {
    // Regression: the 404 detail quoted the raw path and threw while encoding it as JSON,
    // which terminated the whole server.
    RawConnection conn(s.port());
    REQUIRE(conn.connected());
    REQUIRE(conn.send_all("GET /%FF%FE HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
    const std::string answer = conn.read_to_close();
    INFO(answer);
    CHECK(status_of_raw(answer) == 404);
    auto j = json::parse(body_of_raw(answer), nullptr, false);
    CHECK(j.is_object());
    check_still_serving(s);
  }
}

TEST_CASE("SIGTERM answers the client and leaves no cgroup or process behind", "[serve]") {
  TestServer s(light("server:\n  shutdown_grace: 1\n"));
  const pid_t server_pid = s.pid();

  HttpResponse answer;
  std::thread client([&] {
    answer = run_with(s, "import time\ntime.sleep(60)", {{"timeout", 120}}, 90);
  });
  const bool running =
      eventually([&] { return runs_field(s, "running") == 1; }, std::chrono::seconds(15));
  // This server's run cgroups: those holding its children (the run, the pooled children).
  const auto prefixes = run_cgroup_prefixes_of(server_pid);

  const int exit_code = s.terminate();
  client.join();
  REQUIRE(running);
  REQUIRE_FALSE(prefixes.empty());
  CHECK(exit_code == 0);
  INFO("answer " << answer.status << " " << answer.body);
  // The run outlives the grace period: it is killed and its client told why. The listener
  // waits for the handlers to finish, so the answer is sent before the server exits.
  CHECK(answer.status == 503);
  CHECK(answer.headers.count("Retry-After") == 1);
  CHECK(answer.json()["detail"] == "server shutting down");

  std::vector<std::string> leaked_cgroups;
  eventually(
      [&] {
        leaked_cgroups.clear();
        for (const auto& dir : run_cgroups()) {
          const std::string name = std::filesystem::path(dir).filename();
          for (const auto& prefix : prefixes)
            if (name.rfind(prefix, 0) == 0) leaked_cgroups.push_back(dir);
        }
        return leaked_cgroups.empty();
      },
      std::chrono::seconds(3));
  for (const auto& dir : leaked_cgroups) FAIL_CHECK("left behind: " << dir);

  std::vector<std::string> leaked_processes;
  eventually(
      [&] {
        leaked_processes = orphaned_sandbox_processes();
        return leaked_processes.empty();
      },
      std::chrono::seconds(3));
  for (const auto& p : leaked_processes) FAIL_CHECK("still running: " << p);
}

TEST_CASE("SIGTERM during start-up still stops the server", "[serve]") {
  // Regression: a SIGTERM already pending when the listener thread started made server.stop()
  // a no-op (httplib was not running yet), and the server then waited for the listener forever.
  // The signal is sent as soon as the server logs its sandbox line, which comes before the
  // zygote's preload (a second or more) and long before the listener.
  TempFile log("", "serve.log");
  auto r =
      run_process({"/bin/sh", "-c",
                   "\"$0\" serve --port 0 2>\"$1\" & pid=$!; "
                   "until grep -q 'sandbox: namespaces' \"$1\" || ! kill -0 $pid; do sleep 0.01; "
                   "done; "
                   "kill -TERM $pid; wait $pid; code=$?; cat \"$1\" >&2; exit $code",
                   binary(), log.path()},
                  "", {}, 60);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  const auto sandbox_line = r.err.find("sandbox: namespaces");
  const auto listening = r.err.find("listening on");
  REQUIRE(sandbox_line != std::string::npos);
  REQUIRE(listening != std::string::npos);
  CHECK(sandbox_line < listening);
  CHECK(r.err.find("SIGTERM: no new runs") != std::string::npos);
  CHECK(r.err.find("stopped") != std::string::npos);
}

TEST_CASE("a 413 on POST /run is counted in pyrunner_http_requests_total", "[serve]") {
  TestServer s(light(kMainConfig));  // its own: the count is exact
  const char* sample = "pyrunner_http_requests_total{route=\"/run\",code=\"413\"}";
  CHECK_FALSE(metric(s.get("/metrics").body, sample).has_value());
  auto r = request(s, "POST", "/run", std::string((10 << 20) + 1, 'a'));
  REQUIRE(r.status == 413);
  std::string text;
  CHECK(eventually(  // counted once the answer is sent, as the client gets it: no order
      [&] { return metric(text = s.get("/metrics").body, sample).has_value(); }, 10s));
  INFO(text.substr(0, 600));
  CHECK(metric(text, sample) == 1.0);
}

TEST_CASE("a JSON body sent without a JSON content type is judged by max_body_bytes", "[serve]") {
  // `curl -d` labels bodies application/x-www-form-urlencoded. A 20 KB program is far below
  // server.max_body_bytes (10 MiB), so it must run, not be refused as too large.
  const auto& s = server();
  std::string code = "x = 1\n";
  while (code.size() < 20000) code += "x += 1\n";
  code += "print(x)\n";
  auto r = request(s, "POST", "/run", json{{"code", code}}.dump(),
                   {{"Content-Type", "application/x-www-form-urlencoded"}});
  INFO(r.status << " " << r.body);
  CHECK(r.status == 200);
  auto small = request(s, "POST", "/run", R"j({"code": "print(3)"})j",
                       {{"Content-Type", "application/x-www-form-urlencoded"}});
  CHECK(small.status == 200);
  CHECK(small.json()["stdout"] == "3\n");
}

TEST_CASE("the server starts as PID 1 of its namespace, as a container entrypoint", "[serve]") {
  // `docker run` without --init makes `pyrunner serve` PID 1 (the Dockerfile's CMD). Killing
  // unshare (--kill-child) ends the namespace once the server has said it listens, or failed.
  TempFile log("", "serve.log");
  auto config = config_file(light(""));
  auto r =
      run_process({"/bin/sh", "-c",
                   "/usr/bin/unshare --pid --fork --mount-proc --kill-child \"$0\" serve --port 0"
                   " --config \"$2\" 2>\"$1\" & pid=$!; i=0;"
                   " while [ $i -lt 300 ] && ! grep -q 'listening on\\|critical' \"$1\"; do"
                   " sleep 0.1; i=$((i+1)); done; kill -KILL $pid; wait $pid; cat \"$1\"",
                   binary(), log.path(), config.path()},
                  "", {}, 60);
  INFO(r.out << r.err);
  CHECK(r.out.find("listening on") != std::string::npos);
  CHECK(r.out.find("critical") == std::string::npos);
}
