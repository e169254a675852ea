// API keys and per-key limits against a real server on loopback: which routes need a key,
// the 401s, the 429s of each limit with their Retry-After, sessions that belong to their key,
// fairness between two keys, what the log and the metrics say, and start-up errors.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "core/access/keys.h"
#include "support/harness.h"
#include "support/mcp_client.h"

namespace {

using namespace pyrunner::testing;
using namespace std::chrono_literals;
using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kAlpha = "alpha-3c1d9e0b5f";
constexpr const char* kBeta = "beta-77e2a4c8d1";
const std::string kKeysEnv = std::string("PYRUNNER_API_KEYS=") + kAlpha + ", " + kBeta;

// Two run slots, policy off, no preload (the zygote is ready at once).
std::string config(const std::string& more = "") {
  return "policy: {enabled: false}\npython: {preload: []}\nserver:\n  max_concurrent_runs: 2\n" +
         more;
}

std::string id_of(const std::string& key) { return pyrunner::key_id_of(pyrunner::sha256(key)); }
Headers bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }
Headers x_api_key(const std::string& key) { return {{"X-API-Key", key}}; }

// A request on a socket of its own, answered when it is: for runs that hold a slot while the
// test does something else. Closing it hangs up, and the server kills the run.
class RawRequest {
 public:
  RawRequest(int port, const std::string& path, const std::string& body, const Headers& headers) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    std::string request = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
    request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n\r\n" + body;
    sent_ = send(fd_, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size());
  }
  ~RawRequest() {
    if (fd_ >= 0) close(fd_);
  }
  bool sent() const { return sent_; }
  // Whether any of the answer has arrived (without waiting).
  bool answered() const {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
  }
  // The whole answer (waiting up to `limit` for it): status, headers, body.
  HttpResponse answer(std::chrono::milliseconds limit = 120s) {
    std::string data;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    size_t need = std::string::npos;
    while (std::chrono::steady_clock::now() < deadline) {
      if (need != std::string::npos && data.size() >= need) break;
      pollfd p{fd_, POLLIN, 100};
      if (poll(&p, 1, 100) != 1) continue;
      char buf[8192];
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      data.append(buf, static_cast<size_t>(n));
      const size_t end = data.find("\r\n\r\n");
      if (end != std::string::npos && need == std::string::npos) {
        std::smatch m;
        const std::string head = data.substr(0, end);
        if (std::regex_search(head, m, std::regex("Content-Length: (\\d+)", std::regex::icase)))
          need = end + 4 + std::stoul(m[1]);
      }
    }
    HttpResponse r;
    const size_t end = data.find("\r\n\r\n");
    if (data.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return r;
    r.status = std::stoi(data.substr(9, 3));
    r.body = data.substr(end + 4);
    size_t line = data.find("\r\n") + 2;
    while (line < end) {
      const size_t next = data.find("\r\n", line);
      const std::string h = data.substr(line, next - line);
      const size_t colon = h.find(':');
      if (colon != std::string::npos)
        r.headers[h.substr(0, colon)] = h.substr(h.find_first_not_of(' ', colon + 1));
      line = next + 2;
    }
    return r;
  }

 private:
  int fd_ = -1;
  bool sent_ = false;
};

int running(const TestServer& s) {
  auto h = s.get("/").json();
  return h.is_object() && h.contains("runs") ? h["runs"].value("running", 0) : -1;
}

// A run of `key` that holds a slot until the object goes.
struct HeldKeyRun {
  HeldKeyRun(const TestServer& s, const std::string& key)
      : request(s.port(), "/run", R"J({"code": "import time\ntime.sleep(3600)", "timeout": 300})J",
                x_api_key(key)) {}
  RawRequest request;
};

// Every documented operation as (method, path), its parameters filled in.
std::vector<std::pair<std::string, std::string>> operations(const json& doc) {
  std::vector<std::pair<std::string, std::string>> ops;
  for (const auto& [path, methods] : doc["paths"].items()) {
    const std::string concrete = std::regex_replace(path, std::regex("\\{[^}]+\\}"), "1");
    for (const auto& [method, op] : methods.items()) {
      std::string upper = method;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      ops.emplace_back(upper, concrete);
    }
  }
  return ops;
}

bool is_open(const std::string& method, const std::string& path) {
  return method == "GET" &&
         (path == "/" || path == "/openapi.json" || path.rfind("/playground", 0) == 0);
}

// The error text of a JSON error body, whichever API's shape it has.
std::string error_text(const HttpResponse& r) {
  const auto j = r.json();
  for (const char* key : {"detail", "error", "message"}) {
    if (j.is_object() && j.contains(key) && j[key].is_string()) return j[key];
  }
  return "";
}

// A series' value (harness.h's metric), -1 when it is missing.
long series_value(const std::string& text, const std::string& series) {
  return static_cast<long>(pyrunner::testing::metric(text, series).value_or(-1));
}

}  // namespace

TEST_CASE("with API keys every route but health and the document needs one", "[access][serve]") {
  TestServer s(config(), {kKeysEnv});
  auto health = s.get("/");
  REQUIRE(health.status == 200);
  CHECK(health.json()["auth"] == "api_key");
  auto doc = s.get("/openapi.json");
  REQUIRE(doc.status == 200);

  const auto ops = operations(doc.json());
  REQUIRE(ops.size() > 20);
  size_t refused = 0;
  for (const auto& [method, path] : ops) {
    if (is_open(method, path) || (method == "GET" && path == "/mcp")) continue;  // 405 either way
    const std::string body = method == "GET" || method == "DELETE" ? "" : "{}";
    for (const auto& headers : {Headers{}, bearer("not-a-key"), x_api_key("alpha"),
                                Headers{{"Authorization", std::string("Basic ") + kAlpha}}}) {
      auto r = s.send(method, path, body, headers);
      INFO(method << " " << path << " " << (headers.empty() ? "" : headers[0].second) << " -> "
                  << r.status << " " << r.body);
      CHECK(r.status == 401);
      CHECK(r.headers["WWW-Authenticate"].rfind("Bearer realm=\"pyrunner\"", 0) == 0);
      CHECK(r.headers["Content-Type"].rfind("application/json", 0) == 0);
      CHECK_FALSE(error_text(r).empty());
      ++refused;
    }
  }
  CHECK(refused >= 80);
  // Every wrong key is told the same: nothing says how close it came.
  auto wrong1 = s.send("POST", "/run", R"J({"code": "print(1)"})J", bearer("alpha-3c1d9e0b5e"));
  auto wrong2 = s.send("POST", "/run", R"J({"code": "print(1)"})J", bearer("zzz"));
  CHECK(wrong1.status == 401);
  CHECK(wrong1.body == wrong2.body);
  CHECK(wrong1.headers["WWW-Authenticate"] == wrong2.headers["WWW-Authenticate"]);
  CHECK(wrong1.body.find("alpha") == std::string::npos);

  // Both ways of presenting a key, both keys.
  for (const auto& headers : {bearer(kAlpha), x_api_key(kBeta),
                              Headers{{"authorization", std::string("bearer ") + kBeta}}}) {
    auto r = s.send("POST", "/run", R"J({"code": "print(6*7)"})J", headers);
    INFO(r.body);
    CHECK(r.status == 200);
    CHECK(r.json()["stdout"] == "42\n");
  }
  // The CORS preflight carries no credentials (browsers send none): it is answered.
  CHECK(s.send("OPTIONS", "/run", "",
               {{"Origin", "https://a.example"}, {"Access-Control-Request-Method", "POST"}})
            .status == 204);
  // A path no route has is 404 with or without a key (the route list is public anyway).
  CHECK(s.send("GET", "/nowhere", "", {}).status == 404);
}

TEST_CASE("without keys nothing changes", "[access][serve]") {
  TestServer s(config());
  CHECK(s.get("/").json()["auth"] == "none");
  CHECK(s.run("print(1)").status == 200);
  CHECK(s.get("/metrics").status == 200);
  CHECK(s.get("/metrics").body.find("pyrunner_key_") == std::string::npos);
  const auto doc = s.get("/openapi.json").json();
  CHECK_FALSE(doc.contains("security"));
  CHECK_FALSE(doc["paths"]["/run"]["post"]["responses"].contains("401"));
}

TEST_CASE("keys from a file (plain and sha256: lines) and from the environment",
          "[access][serve]") {
  TempFile keys("# the operators' keys\n\nfile-key-one\nsha256:" +
                    pyrunner::hex_of(pyrunner::sha256("hashed-key-two")) + "\n",
                "keys");
  TestServer s(config("  api_keys_file: " + keys.path() + "\n"), {"PYRUNNER_API_KEYS=env-key"});
  for (const char* key : {"file-key-one", "hashed-key-two", "env-key"}) {
    INFO(key);
    CHECK(s.send("GET", "/sessions", "", x_api_key(key)).status == 200);
  }
  // The digest of a key is not the key.
  CHECK(s.send("GET", "/sessions", "",
               x_api_key(pyrunner::hex_of(pyrunner::sha256("hashed-key-two"))))
            .status == 401);
  CHECK(s.send("GET", "/sessions", "",
               x_api_key("sha256:" + pyrunner::hex_of(pyrunner::sha256("hashed-key-two"))))
            .status == 401);
}

TEST_CASE("a bad keys file stops the server at start, saying why without quoting keys",
          "[access][serve]") {
  TempFile empty("# no keys yet\n\n", "keys");
  TempFile malformed("good-key\nsecret-half other-half\n", "keys");
  TempFile short_digest("sha256:abcdef\n", "keys");
  const std::string beta_id = id_of(kBeta);
  struct Case {
    std::string yaml, env, error;
  } cases[] = {
      {"server: {api_keys_file: /nonexistent/pyrunner-keys}", "",
       "server.api_keys_file '/nonexistent/pyrunner-keys': cannot read it: ENOENT"},
      {"server: {api_keys_file: " + empty.path() + "}", "",
       "server.api_keys_file '" + empty.path() + "': lists no key (only comments or blanks)"},
      {"server: {api_keys_file: " + malformed.path() + "}", "",
       "server.api_keys_file '" + malformed.path() + "': line 2: a key is one word"},
      {"server: {api_keys_file: " + short_digest.path() + "}", "",
       "line 1: sha256: must be followed by 64 hex digits"},
      {"server: {key_overrides: {" + beta_id + ": {sessions: 2}}}", "PYRUNNER_API_KEYS=other",
       "server.key_overrides." + beta_id + ": no API key has this id"},
  };
  for (const auto& c : cases) {
    TempFile file(c.yaml, "pyrunner.yaml");
    std::vector<std::string> env;
    if (!c.env.empty()) env.push_back(c.env);
    auto p = run_process({binary(), "serve", "--port", "0", "--config", file.path()}, "", env, 60);
    INFO(c.yaml << "\n" << p.err);
    CHECK(p.exit_code == 78);
    CHECK(p.err.find(c.error) != std::string::npos);
    CHECK(p.err.find("secret-half") == std::string::npos);
  }
}

TEST_CASE("the log and the metrics name key ids, never keys", "[access][serve][metrics]") {
  TestServer s(config(), {kKeysEnv});
  REQUIRE(s.send("POST", "/run", R"J({"code": "print(1)"})J", bearer(kAlpha)).status == 200);
  REQUIRE(s.send("POST", "/run", R"J({"code": "print(2)"})J", x_api_key(kAlpha)).status == 200);
  REQUIRE(s.send("GET", "/sessions", "", x_api_key(kBeta)).status == 200);
  REQUIRE(s.send("POST", "/run", R"J({"code": "print(1)"})J", {}).status == 401);
  REQUIRE(s.send("POST", "/run", R"J({"code": "print(1)"})J", x_api_key("guess")).status == 401);
  CHECK(s.get("/metrics").status == 401);  // the metrics name the keys' ids: they need a key
  auto m = s.send("GET", "/metrics", "", x_api_key(kBeta));
  REQUIRE(m.status == 200);
  const std::string a = id_of(kAlpha), b = id_of(kBeta);
  CHECK(series_value(m.body, "pyrunner_key_requests_total{key=\"" + a + "\"}") == 2);
  CHECK(series_value(m.body, "pyrunner_key_requests_total{key=\"" + b + "\"}") ==
        2);  // and /metrics
  CHECK(series_value(m.body, "pyrunner_key_runs_total{key=\"" + a + "\"}") == 2);
  CHECK(series_value(m.body, "pyrunner_key_runs_total{key=\"" + b + "\"}") == 0);
  CHECK(series_value(m.body, "pyrunner_key_rejections_total{limit=\"unauthorized\"}") == 3);
  CHECK(series_value(m.body, "pyrunner_key_rejections_total{key=\"" + a +
                                 "\",limit=\"requests_per_minute\"}") == 0);
  CHECK(m.body.find("# TYPE pyrunner_key_rejections_total counter") != std::string::npos);
  CHECK(m.body.find(kAlpha) == std::string::npos);

  REQUIRE(eventually([&] { return s.log().find("GET /metrics 200 key=" + b) != std::string::npos; },
                     10s));
  const std::string log = s.log();
  INFO(log);
  CHECK(std::regex_search(log, std::regex("POST /run 200 status=success duration_ms=[0-9.]+ "
                                          "code_bytes=20 key=" +
                                          a)));
  CHECK(log.find("POST /run 401") != std::string::npos);
  CHECK(log.find("API keys: 2 (ids ") != std::string::npos);
  CHECK(log.find(kAlpha) == std::string::npos);
  CHECK(log.find(kBeta) == std::string::npos);
  CHECK(log.find("guess") == std::string::npos);
}

TEST_CASE("requests per minute: 429 with the seconds until a request is allowed again",
          "[access][serve]") {
  TestServer s(config("  key_limits: {requests_per_minute: 3}\n"), {kKeysEnv});
  for (int i = 0; i < 3; ++i)
    REQUIRE(s.send("GET", "/languages", "", x_api_key(kAlpha)).status == 200);
  auto over = s.send("GET", "/sessions", "", x_api_key(kAlpha));
  INFO(over.body);
  REQUIRE(over.status == 429);
  // A token every 20 s: the next one is 20 s (less what has passed, rounded up) away.
  const int retry = std::stoi(over.headers["Retry-After"]);
  CHECK(retry >= 19);
  CHECK(retry <= 20);
  CHECK(error_text(over).find("key " + id_of(kAlpha) +
                              ": over its limit of 3 requests per minute "
                              "(requests_per_minute)") == 0);
  // In the error shape of the API the path belongs to.
  auto judge0 = s.send("GET", "/languages", "", x_api_key(kAlpha));
  CHECK(judge0.status == 429);
  CHECK(judge0.json().contains("error"));
  auto piston = s.send("GET", "/api/v2/runtimes", "", x_api_key(kAlpha));
  CHECK(piston.status == 429);
  CHECK(piston.json().contains("message"));
  // The other key has a bucket of its own; the open routes take no token.
  CHECK(s.send("GET", "/languages", "", x_api_key(kBeta)).status == 200);
  for (int i = 0; i < 5; ++i) CHECK(s.get("/").status == 200);
  auto m = s.send("GET", "/metrics", "", x_api_key(kBeta)).body;
  CHECK(series_value(m, "pyrunner_key_rejections_total{key=\"" + id_of(kAlpha) +
                            "\",limit=\"requests_per_minute\"}") == 3);
}

TEST_CASE("concurrent runs per key: every kind of run counts, 429 beyond the limit",
          "[access][serve]") {
  // Two slots, auto: one run per key at a time.
  TestServer s(config("sessions: {max_sessions: 8}\n"), {kKeysEnv});
  auto session = s.send("POST", "/sessions", "{}", x_api_key(kAlpha));
  REQUIRE(session.status == 201);
  const std::string sid = session.json()["id"];
  HttpMcp mcp(s, kMcpVersion, x_api_key(kAlpha));
  REQUIRE(mcp.initialized());

  HeldKeyRun held(s, kAlpha);
  REQUIRE(held.request.sent());
  REQUIRE(eventually([&] { return running(s) == 1; }, 30s));

  const std::string concurrent = "key " + id_of(kAlpha) + ": at its limit of 1 concurrent runs";
  const auto refused = [&](const HttpResponse& r) {
    INFO(r.status << " " << r.body);
    CHECK(r.status == 429);
    CHECK(std::stoi(r.headers.count("Retry-After") ? r.headers.at("Retry-After") : "0") >= 1);
    CHECK(error_text(r).find(concurrent) == 0);
  };
  refused(s.send("POST", "/run", R"J({"code": "print(1)"})J", x_api_key(kAlpha)));
  refused(s.send("POST", "/sessions/" + sid + "/run", R"J({"code": "x = 1"})J", x_api_key(kAlpha)));
  refused(
      s.send("POST", "/grade",
             R"J({"code": "print(input())", "tests": [{"stdin": "1", "expected_output": "1"}]})J",
             x_api_key(kAlpha)));
  refused(s.send("POST", "/submissions?wait=true",
                 R"J({"source_code": "print(1)", "language_id": 71})J", x_api_key(kAlpha)));
  refused(s.send("POST", "/api/v2/execute",
                 R"J({"language": "python", "version": "*", "files": [{"content": "print(1)"}]})J",
                 x_api_key(kAlpha)));
  auto tool = mcp.call("run_python", {{"code", "print(1)"}});
  CHECK(tool["result"]["isError"] == true);
  CHECK(result_text(tool["result"]).find(concurrent) != std::string::npos);
  // A batch's items are refused one by one.
  auto batch = s.send("POST", "/batch", R"J({"runs": [{"code": "print(1)"}]})J", x_api_key(kAlpha));
  INFO(batch.body);
  CHECK(batch.status == 200);
  CHECK(batch.body.find(concurrent) != std::string::npos);

  // The other key runs meanwhile, in the other slot.
  auto other = s.send("POST", "/run", R"J({"code": "print(1)"})J", x_api_key(kBeta));
  CHECK(other.status == 200);
  CHECK(other.json()["stdout"] == "1\n");
  CHECK_FALSE(held.request.answered());
  auto m = s.send("GET", "/metrics", "", x_api_key(kBeta)).body;
  CHECK(series_value(m, "pyrunner_key_rejections_total{key=\"" + id_of(kAlpha) +
                            "\",limit=\"concurrent_runs\"}") >= 7);
}

TEST_CASE("one key's flood of endless runs does not keep another key's runs waiting",
          "[access][serve]") {
  TestServer s(config(), {kKeysEnv});
  // Sixteen `while True: pass` runs of alpha at once; its limit (auto: one of the two slots)
  // lets one in and refuses the others at once.
  std::vector<std::unique_ptr<RawRequest>> flood;
  for (int i = 0; i < 16; ++i) {
    flood.push_back(std::make_unique<RawRequest>(
        s.port(), "/run", R"J({"code": "while True: pass", "timeout": 120})J", x_api_key(kAlpha)));
    REQUIRE(flood.back()->sent());
  }
  REQUIRE(eventually([&] { return running(s) == 1; }, 30s));
  // Wait for the refusals, so that beta's runs come while alpha's one run is the only one.
  int refused = 0;
  std::vector<RawRequest*> unanswered;
  for (auto& r : flood) {
    if (!eventually([&] { return r->answered(); }, 200ms)) {
      unanswered.push_back(r.get());
      continue;
    }
    auto answer = r->answer();
    INFO(answer.status << " " << answer.body);
    CHECK(answer.status == 429);
    CHECK(error_text(answer).find("concurrent runs") != std::string::npos);
    ++refused;
  }
  CHECK(refused == 15);
  REQUIRE(unanswered.size() == 1);

  for (int i = 0; i < 8; ++i) {
    auto r = s.send("POST", "/run", R"J({"code": "print(1)"})J", x_api_key(kBeta));
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(r.json()["stdout"] == "1\n");
  }
  // All while alpha's run was still going.
  CHECK_FALSE(unanswered[0]->answered());
  CHECK(running(s) == 1);
  flood.clear();  // hang up: the server kills the run
  CHECK(eventually([&] { return running(s) == 0; }, 30s));
}

TEST_CASE("sessions belong to the key that made them", "[access][serve][sessions]") {
  TestServer s(config("  key_limits: {sessions: 1}\n"), {kKeysEnv});
  auto made = s.send("POST", "/sessions", R"J({"idle_timeout": 100})J", x_api_key(kAlpha));
  REQUIRE(made.status == 201);
  const std::string id = made.json()["id"];
  REQUIRE(s.send("POST", "/sessions/" + id + "/run",
                 R"J({"code": "open('f.txt','w').write('x')"})J", x_api_key(kAlpha))
              .status == 200);

  // To beta the session does not exist, whatever it asks.
  const std::string missing = "session: no session '" + id + "' on this server";
  for (const auto& [method, path, body] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"GET", "/sessions/" + id, ""},
           {"POST", "/sessions/" + id + "/run", R"J({"code": "print(1)"})J"},
           {"POST", "/sessions/" + id + "/interrupt", ""},
           {"GET", "/sessions/" + id + "/files", ""},
           {"GET", "/sessions/" + id + "/files/f.txt", ""},
           {"DELETE", "/sessions/" + id, ""}}) {
    auto r = s.send(method, path, body, x_api_key(kBeta));
    INFO(method << " " << path << " " << r.body);
    CHECK(r.status == 404);
    CHECK(error_text(r) == missing);
  }
  CHECK(s.send("GET", "/sessions", "", x_api_key(kBeta)).json()["sessions"].empty());
  auto mine = s.send("GET", "/sessions", "", x_api_key(kAlpha)).json()["sessions"];
  REQUIRE(mine.size() == 1);
  CHECK(mine[0]["id"] == id);
  CHECK(s.send("GET", "/sessions/" + id + "/files/f.txt", "", x_api_key(kAlpha)).body == "x");

  // Alpha's limit is one session: 429, until the first one expires (idle for 100 s).
  auto second = s.send("POST", "/sessions", "{}", x_api_key(kAlpha));
  INFO(second.body);
  CHECK(second.status == 429);
  const int retry = std::stoi(second.headers["Retry-After"]);
  CHECK(retry >= 98);
  CHECK(retry <= 100);
  CHECK(error_text(second).find("key " + id_of(kAlpha) + ": at its limit of 1 open sessions") == 0);
  // Beta's limit is its own.
  auto theirs = s.send("POST", "/sessions", "{}", x_api_key(kBeta));
  CHECK(theirs.status == 201);

  // Ended, it is 410 to its owner and still nothing to the other key.
  REQUIRE(s.send("DELETE", "/sessions/" + id, "", x_api_key(kAlpha)).status == 204);
  CHECK(s.send("GET", "/sessions/" + id, "", x_api_key(kAlpha)).status == 410);
  CHECK(s.send("GET", "/sessions/" + id, "", x_api_key(kBeta)).status == 404);
  CHECK(s.send("POST", "/sessions", "{}", x_api_key(kAlpha)).status == 201);
}

TEST_CASE("Judge0 submissions belong to the key that made them", "[access][serve][compat]") {
  TestServer s(config(), {kKeysEnv});
  const std::string body = R"J({"source_code": "print(6 * 7)", "language_id": 71})J";
  auto waited = s.send("POST", "/submissions?wait=true", body, x_api_key(kAlpha));
  REQUIRE(waited.status == 201);
  const std::string token = waited.json()["token"];
  auto queued = s.send("POST", "/submissions/batch", R"J({"submissions": [)J" + body + "]}",
                       x_api_key(kAlpha));
  REQUIRE(queued.status == 201);
  const std::string later = queued.json()[0]["token"];

  // To its owner: the submission, with its code and output.
  auto mine =
      s.send("GET", "/submissions/" + token + "?fields=stdout,source_code", "", x_api_key(kAlpha));
  CHECK(mine.status == 200);
  CHECK(mine.json()["stdout"] == "42\n");
  // To another key: Rails' not found, and null in a batch, as for a token that never was.
  auto theirs = s.send("GET", "/submissions/" + token, "", x_api_key(kBeta));
  CHECK(theirs.status == 404);
  CHECK(theirs.json() == s.send("GET", "/submissions/no-such-token", "", x_api_key(kBeta)).json());
  auto batch =
      s.send("GET", "/submissions/batch?tokens=" + token + "," + later, "", x_api_key(kBeta));
  CHECK(batch.status == 200);
  CHECK(batch.json()["submissions"] == nlohmann::json::array({nullptr, nullptr}));
  auto own_batch =
      s.send("GET", "/submissions/batch?tokens=" + token + "," + later, "", x_api_key(kAlpha));
  CHECK(own_batch.json()["submissions"][0]["token"] == token);
  CHECK(own_batch.json()["submissions"][1]["token"] == later);
}

TEST_CASE("MCP sessions belong to their key too", "[access][serve][mcp]") {
  TestServer s(config("  key_limits: {sessions: 1}\n"), {kKeysEnv});
  HttpMcp alpha(s, kMcpVersion, x_api_key(kAlpha));
  REQUIRE(alpha.initialized());
  auto ran = alpha.call("run_python", {{"code", "print(5)"}});
  CHECK(result_text(ran["result"]).find("5") != std::string::npos);
  // Beta with alpha's session id: not found, neither to call nor to delete.
  auto theirs = http_request(s.port(), "POST", "/mcp", rpc_request(9, "tools/list").dump(),
                             {{"Content-Type", "application/json"},
                              {"Accept", "application/json"},
                              {"Mcp-Session-Id", alpha.session_id()},
                              {"X-API-Key", kBeta}});
  CHECK(theirs.status == 404);
  CHECK(http_request(s.port(), "DELETE", "/mcp", "",
                     {{"Mcp-Session-Id", alpha.session_id()}, {"X-API-Key", kBeta}})
            .status == 404);
  // Without a key, /mcp is 401 like every route.
  CHECK(http_request(s.port(), "POST", "/mcp", rpc_request(1, "tools/list").dump(),
                     {{"Content-Type", "application/json"}, {"Mcp-Session-Id", alpha.session_id()}})
            .status == 401);
  // Alpha's second MCP session is over its sessions limit.
  HttpMcp again(s, kMcpVersion, x_api_key(kAlpha));
  CHECK_FALSE(again.initialized());
  CHECK(again.initialize_answer().status == 429);
  CHECK(alpha.end() == 204);
}

TEST_CASE(
    "with keys the OpenAPI document has the security schemes, and every 401 and 429 it "
    "lists is real",
    "[access][serve]") {
  // A key that has spent its one request a minute: every protected route answers it 429.
  TestServer s(config("  key_limits: {requests_per_minute: 1}\n"), {kKeysEnv});
  const auto doc = s.get("/openapi.json").json();
  REQUIRE(doc.is_object());
  CHECK(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer");
  CHECK(doc["components"]["securitySchemes"]["apiKeyHeader"]["name"] == "X-API-Key");
  CHECK(doc["security"].size() == 2);
  REQUIRE(s.send("GET", "/sessions", "", x_api_key(kAlpha)).status == 200);
  size_t checked = 0;
  for (const auto& [path, methods] : doc["paths"].items()) {
    for (const auto& [method_lower, op] : methods.items()) {
      std::string method = method_lower;
      for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      const std::string concrete = std::regex_replace(path, std::regex("\\{[^}]+\\}"), "1");
      INFO(method << " " << path);
      if (is_open(method, path)) {
        CHECK(op["security"].empty());
        CHECK_FALSE(op["responses"].contains("401"));
        continue;
      }
      if (op["responses"].size() == 1 && op["responses"].contains("405")) continue;  // GET /mcp
      REQUIRE(op["responses"].contains("401"));
      REQUIRE(op["responses"].contains("429"));
      CHECK(op["responses"]["429"]["headers"].contains("Retry-After"));
      CHECK(op["responses"]["401"]["headers"].contains("WWW-Authenticate"));
      const std::string body = method == "GET" || method == "DELETE" ? "" : "{}";
      CHECK(s.send(method, concrete, body, {}).status == 401);
      auto limited = s.send(method, concrete, body, x_api_key(kAlpha));
      CHECK(limited.status == 429);
      CHECK(!limited.headers["Retry-After"].empty());
      ++checked;
    }
  }
  CHECK(checked > 20);
}
