#include "core/http/server.h"

#include <dirent.h>
#include <httplib.h>
#include <netdb.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "core/executor/executor.h"
#include "core/executor/scheduling.h"
#include "core/http/admission.h"
#include "core/http/health.h"
#include "core/http/isolation.h"
#include "core/http/metrics.h"
#include "core/http/openapi.h"
#include "core/model/outcome.h"
#include "core/pool/pool.h"
#include "core/sandbox/host.h"
#include "core/sandbox/namespaces.h"
#include "core/validator/validator.h"
#include "version.h"

namespace pyrunner {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::ordered_json;

constexpr const char* kJson = "application/json";
constexpr auto kAcquireWait = std::chrono::seconds(5);

// httplib's own pool queues accepted connections without bound. This one blocks the accept
// loop once `max_pending` connections wait, which leaves further clients in the kernel's
// listen backlog: memory and threads stay bounded under any load.
class BoundedTaskQueue : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(size_t threads, size_t max_pending) : max_pending_(max_pending) {
    for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mutex_);
    room_.wait(lock, [this] { return jobs_.size() < max_pending_ || shutdown_; });
    jobs_.push_back(std::move(fn));
    ready_.notify_one();
  }
  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      shutdown_ = true;
    }
    ready_.notify_all();
    room_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !jobs_.empty() || shutdown_; });
        if (jobs_.empty()) return;  // shut down and drained
        fn = std::move(jobs_.front());
        jobs_.pop_front();
        room_.notify_one();
      }
      fn();
    }
  }
  const size_t max_pending_;
  std::vector<std::thread> workers_;
  std::deque<std::function<void()>> jobs_;
  std::mutex mutex_;
  std::condition_variable ready_, room_;
  bool shutdown_ = false;
};

// Replace invalid UTF-8 (a path or a parse error quoting the body): dump() would throw.
std::string detail(const std::string& text) {
  return ordered_json{{"detail", text}}.dump(-1, ' ', false,
                                             ordered_json::error_handler_t::replace);
}

std::string numeric_host(const sockaddr_storage& addr, socklen_t len, int* port) {
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, serv,
                  sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "";
  *port = std::atoi(serv);
  return host;
}

// Whether `fd` is the socket of the connection `req` came on: the same peer address and port,
// and our listening port.
bool is_connection(int fd, const httplib::Request& req, int local_port) {
  sockaddr_storage peer{}, local{};
  socklen_t peer_len = sizeof peer, local_len = sizeof local;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) return false;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) return false;
  int peer_port = 0, our_port = 0;
  return numeric_host(peer, peer_len, &peer_port) == req.remote_addr &&
         peer_port == req.remote_port && !numeric_host(local, local_len, &our_port).empty() &&
         our_port == local_port;
}

// The socket of the connection a request came on. httplib 0.11 does not expose it, but the
// peer address and port identify it among our fds, and it stays open while the handler runs.
// Used only to notice a client that hangs up mid-run, so that its run is killed.
int client_socket(const httplib::Request& req, int local_port) {
  // httplib serves a keep-alive connection on one thread: its next request is checked against
  // the fd found last on this thread (two calls) before every fd we hold is scanned (a few
  // hundred calls with a full pool).
  thread_local int last_found = -1;
  if (last_found >= 0 && is_connection(last_found, req, local_port)) return last_found;
  int found = -1;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (dirent* entry = readdir(dir)) {
    int fd = std::atoi(entry->d_name);
    struct stat st;
    if (entry->d_name[0] == '.' || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    if (is_connection(fd, req, local_port)) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  last_found = found;
  return found;
}

class Service {
 public:
  Service(const Config& config, const sandbox::HostSandbox& host, WarmPool& pool,
          LibraryReport libraries)
      : config_(config),
        host_(host),
        pool_(pool),
        libraries_(std::move(libraries)),
        validator_(config.limits),
        executor_(config, &reaper_),
        admission_(config.concurrent_runs(), config.server.max_queue,
                   std::chrono::seconds(config.server.queue_timeout)),
        abort_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
        openapi_(openapi_document(config)) {}

  // Every route, in one place; each handler is a thin call into the core.
  void register_routes(httplib::Server& server) {
    server.Post("/run",
                [this](const httplib::Request& req, httplib::Response& res) { run(req, res); });
    server.Get("/", [this](const httplib::Request&, httplib::Response& res) { health(res); });
    server.Get("/openapi.json", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(openapi_, kJson);
    });
    server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      auto s = pool_.stats();
      res.set_content(metrics_.render(s.ready, s.size), "text/plain; version=0.0.4");
    });
    server.Options(".*", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
    server.set_post_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) { cors(req, res); });
    server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 404)
        res.set_content(detail("no route for " + req.method + " " + req.path), kJson);
      if (res.status == 405) res.set_content(detail("method not allowed"), kJson);
      if (res.status == 413)
        res.set_content(detail("body: larger than the maximum request size"), kJson);
      if (res.body.empty()) res.set_content(detail("HTTP " + std::to_string(res.status)), kJson);
    });
    server.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "unknown";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          spdlog::error("internal error: {}", what);
          res.status = 500;
          res.set_content(detail("internal error"), kJson);
        });
    // Every answer is counted here, in one place; a run's answer was logged with its run
    // (run() marks it), anything else (a 413 before the handler, a 404) is logged here.
    server.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      const bool known = req.path == "/" || req.path == "/run" || req.path == "/openapi.json" ||
                         req.path == "/metrics";
      metrics_.request(known ? req.path : "other", res.status);
      if (!res.has_header("X-Run-Status"))
        spdlog::info("{} {} {}", req.method, req.path, res.status);
    });
    // curl -d sends JSON as application/x-www-form-urlencoded, which httplib would cap at
    // 8 KiB (413) and parse as a query string: /run bodies are JSON whatever their type says.
    server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
      if (req.method == "POST" && req.path == "/run") {
        auto& headers = const_cast<httplib::Request&>(req).headers;  // ours until routed
        auto type = headers.find("Content-Type");
        if (type != headers.end() && type->second.find("application/x-www-form-urlencoded") == 0)
          type->second = "application/json";
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    // A known path with the wrong method is 405 with the methods it has, not 404.
    const std::pair<const char*, const char*> kRoutes[] = {
        {"/run", "POST"}, {"/", "GET"}, {"/openapi.json", "GET"}, {"/metrics", "GET"}};
    for (const auto& [path, method] : kRoutes) {
      const std::string allowed = std::string(method) + ", OPTIONS";
      auto not_allowed = [allowed](const httplib::Request& req, httplib::Response& res) {
        res.status = 405;
        res.set_header("Allow", allowed);
        res.set_content(detail(req.method + " is not allowed here; use " + allowed), kJson);
      };
      if (std::string(method) != "GET") server.Get(path, not_allowed);
      if (std::string(method) != "POST") server.Post(path, not_allowed);
      server.Put(path, not_allowed);
      server.Delete(path, not_allowed);
      server.Patch(path, not_allowed);
    }
  }

  void set_local_port(int port) { local_port_ = port; }
  void start_draining() { draining_ = true; }
  void abort_runs() {
    admission_.close();
    uint64_t one = 1;
    (void)!write(abort_fd_, &one, sizeof one);
  }
  int running() const { return admission_.running(); }

 private:
  void reply(httplib::Response& res, int status, const std::string& body, int retry_after = 0) {
    res.status = status;
    if (retry_after > 0) res.set_header("Retry-After", std::to_string(retry_after));
    res.set_content(body, kJson);
  }

  void run(const httplib::Request& req, httplib::Response& res) {
    const auto started = Clock::now();
    std::string run_status = "-";
    finish_run(req, res, &run_status);
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    res.set_header("X-Run-Status", run_status);  // "-" when no run happened
    spdlog::info("POST /run {} status={} duration_ms={:.1f} code_bytes={}", res.status, run_status,
                 seconds * 1e3, req.body.size());
  }

  void finish_run(const httplib::Request& req, httplib::Response& res, std::string* run_status) {
    if (draining_) return reply(res, 503, detail("server is shutting down"), 1);
    auto parsed = validator_.from_json(req.body);
    if (auto* error = std::get_if<ValidationError>(&parsed))
      return reply(res, error->http_status, detail(error->detail));
    const auto& request = std::get<RunRequest>(parsed);

    switch (admission_.enter()) {
      case Admission::Verdict::kAdmitted:
        break;
      case Admission::Verdict::kQueueFull:
        metrics_.rejected();
        return reply(res, 429, detail("server busy: every run slot is taken and the queue is full"),
                     1);
      case Admission::Verdict::kWaitedTooLong:
        metrics_.rejected();
        return reply(res, 503, detail("server busy: no run slot freed up in time"), 1);
      case Admission::Verdict::kClosed:
        return reply(res, 503, detail("server is shutting down"), 1);
    }
    AdmissionSlot slot(admission_);
    const auto admitted = Clock::now();
    // A pooled child can die before it is given code (killed by the host, say); the request
    // then never reached it, so it is safe to take another one, once.
    RunOutcome result(RunAbort::kInternal, Status::Error("not run"));
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto child = pool_.acquire(kAcquireWait);
      if (!child.ok()) {
        spdlog::error("sandbox unavailable: {}", child.status().message());
        return reply(res, 503, detail("sandbox unavailable: " + child.status().message()), 1);
      }
      metrics_.run_started();
      spdlog::debug("run: admitted and child acquired in {:.2f} ms",
                    std::chrono::duration<double, std::milli>(Clock::now() - admitted).count());
      result = executor_.run(std::move(child.value()), request,
                             RunWatch{client_socket(req, local_port_), abort_fd_});
      metrics_.run_ended();
      if (result.ok() || result.abort() != RunAbort::kNotDelivered) break;
    }
    if (!result.ok()) {
      *run_status = "aborted";
      const auto& why = result.status().message();
      switch (result.abort()) {
        case RunAbort::kShutdown:
          return reply(res, 503, detail(why), 1);
        case RunAbort::kClientGone:
          return reply(res, 499, detail(why));  // never read
        case RunAbort::kNotDelivered:
        case RunAbort::kInternal:
          break;
      }
      spdlog::error("run failed: {}", why);
      return reply(res, 500, detail("internal error: " + why));
    }
    *run_status = std::string(outcome_status(result->outcome));
    metrics_.run_finished(*run_status,
                          std::chrono::duration<double>(Clock::now() - admitted).count());
    reply(res, 200, result_to_json(result.value()));
  }

  void health(httplib::Response& res) {
    const auto& l = config_.limits;
    const auto pool = pool_.stats();
    ordered_json libraries = ordered_json::object();
    for (const auto& [name, version] : libraries_.versions) libraries[name] = version;
    const bool up = pool.zygote_up;
    ordered_json j;
    j["service"] = "pyrunner";
    j["status"] = !up ? "unavailable" : host_.degraded ? "degraded" : "ok";
    j["version"] = kVersion;
    j["python"] = {{"interpreter", config_.python.interpreter},
                   {"version", libraries_.python_version}};
    j["libraries"] = libraries;
    j["limits"] = {
        {"timeout", {{"default", l.default_timeout}, {"min", 1}, {"max", l.max_timeout}}},
        {"memory_limit_mb",
         {{"default", l.default_memory_mb}, {"min", l.min_memory_mb}, {"max", l.max_memory_mb}}},
        {"max_code_bytes", l.max_code_bytes},
        {"max_stdin_bytes", l.max_stdin_bytes},
        {"max_output_bytes", l.max_output_bytes}};
    j["isolation"] = isolation_report(host_, config_, sandbox::namespace_clone_flags());
    j["pool"] = {
        {"enabled", pool.warm},
        {"mode", pool.mode},
        {"fallback", pool.fallback.empty() ? ordered_json() : ordered_json(pool.fallback)},
        {"size", pool.size},
        {"ready", pool.ready},
        {"zygote_pid", pool.zygote_pid},
        {"zygote_uptime_s", std::round(pool.zygote_uptime_s * 10) / 10},
        {"zygote_restarts", pool.zygote_restarts},
        {"preloaded", pool.mode != "cold" ? config_.python.preload : std::vector<std::string>{}}};
    j["runs"] = {{"running", admission_.running()},
                 {"waiting", admission_.waiting()},
                 {"max_concurrent", config_.concurrent_runs()},
                 {"max_queue", config_.server.max_queue}};
    res.status = up ? 200 : 503;
    res.set_content(j.dump(), kJson);
  }

  void cors(const httplib::Request& req, httplib::Response& res) const {
    const auto& origins = config_.server.cors_origins;
    if (origins.empty()) return;
    const std::string origin = req.get_header_value("Origin");
    if (std::find(origins.begin(), origins.end(), "*") != origins.end()) {
      res.set_header("Access-Control-Allow-Origin", "*");
    } else if (!origin.empty() &&
               std::find(origins.begin(), origins.end(), origin) != origins.end()) {
      res.set_header("Access-Control-Allow-Origin", origin);
      res.set_header("Vary", "Origin");
    } else {
      return;
    }
    if (req.method == "OPTIONS") {
      res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      res.set_header("Access-Control-Allow-Headers", "Content-Type, Authorization");
      res.set_header("Access-Control-Max-Age", "600");
    }
  }

  const Config& config_;
  const sandbox::HostSandbox& host_;
  WarmPool& pool_;
  const LibraryReport libraries_;
  RequestValidator validator_;
  Reaper reaper_;  // declared before executor_, which uses it
  Executor executor_;
  Admission admission_;
  Metrics metrics_;
  int abort_fd_;
  const std::string openapi_;
  std::atomic<bool> draining_{false};
  int local_port_ = 0;
};

void setup_logging() {
  auto logger = spdlog::stderr_logger_mt("pyrunner");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  if (const char* level = std::getenv("PYRUNNER_LOG_LEVEL"))
    spdlog::set_level(spdlog::level::from_str(level));
}

// Connections wait in the kernel's backlog rather than in our memory (see BoundedTaskQueue);
// raise the fd limit so that many idle keep-alive clients do not starve the runs of fds.
void raise_fd_limit() {
  rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

}  // namespace

int serve_forever(const Config& config) {
  // Signals are taken by sigwait below; block them before any thread exists so that every
  // thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  setup_logging();
  raise_fd_limit();

  auto host = sandbox::prepare_host(config);
  if (!host.ok()) {
    spdlog::critical("{}", host.status().message());
    return exit_code::kUnavailable;
  }
  if (host->degraded) spdlog::warn("running without cgroups: {}", host->cgroup_text);
  spdlog::info("sandbox: {}", isolation_summary(*host, sandbox::namespace_clone_flags()));
  if (!background_scheduling_available())
    spdlog::warn(
        "no CAP_SYS_NICE: refilling the pool and tearing runs down compete with runs for the CPU "
        "instead of running in the background (SCHED_IDLE)");
  LibraryReport libraries = probe_libraries(config);
  if (!libraries.error.empty()) spdlog::warn("library versions: {}", libraries.error);

  // The zygote gets a clean environment, so it is told the file itself (PYRUNNER_CONFIG included).
  WarmPool pool(config, host->cgroups.get(), config.source == Config{}.source ? "" : config.source);
  if (auto s = pool.start(); !s.ok()) {
    spdlog::critical("{}", s.message());
    return exit_code::kUnavailable;
  }

  // A canary run: a host that lets the server start but not a run (a capability, a mount or a
  // library the sandbox needs is missing) is refused now rather than at the first request.
  {
    RunRequest canary;
    canary.code = "print('ok')";
    canary.memory_mb = config.limits.default_memory_mb;
    auto child = pool.acquire(std::chrono::seconds(30));
    auto result = child.ok() ? Executor(config).run(std::move(child.value()), canary)
                             : RunOutcome(RunAbort::kInternal, child.status());
    if (!result.ok() || result->outcome != Outcome::kSuccess) {
      spdlog::critical("sandbox: a test run failed: {}",
                       result.ok() ? result->stderr_text : result.status().message());
      pool.stop();
      return exit_code::kUnavailable;
    }
  }

  httplib::Server server;
  const size_t threads = static_cast<size_t>(config.server.threads);
  server.new_task_queue = [threads] { return new BoundedTaskQueue(threads, threads * 4); };
  server.set_payload_max_length(static_cast<size_t>(config.server.max_body_bytes));
  server.set_keep_alive_timeout(5);
  server.set_keep_alive_max_count(1000);  // httplib's default of 5 reconnects clients constantly
  server.set_tcp_nodelay(true);  // headers and body go out in separate writes: no Nagle delay
  server.set_read_timeout(30);
  Service service(config, *host, pool, libraries);
  service.register_routes(server);

  // httplib 0.11 listens with a backlog of 5: a burst of clients would see connection resets
  // instead of a clean 429/503. Keep the listening socket (and choose its options: no
  // SO_REUSEPORT, so a second server on the same port fails instead of sharing it) and
  // listen again with the system's maximum.
  int listen_fd = -1;
  server.set_socket_options([&listen_fd](int fd) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    listen_fd = fd;
  });
  int port = config.server.port;
  if (port == 0) {
    port = server.bind_to_any_port(config.server.host);
  } else if (!server.bind_to_port(config.server.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    spdlog::critical("cannot listen on {}:{}", config.server.host, config.server.port);
    pool.stop();
    return exit_code::kUnavailable;
  }
  if (listen_fd >= 0) ::listen(listen_fd, SOMAXCONN);
  service.set_local_port(port);
  spdlog::info("listening on http://{}:{} (pool {}, {} pre-forked, {} concurrent runs, queue {})",
               config.server.host, port, config.pool.enabled ? "warm" : "cold",
               config.pool.enabled ? config.pool.size : 0, config.concurrent_runs(),
               config.server.max_queue);
  std::thread listener([&server] { server.listen_after_bind(); });
  // httplib's stop() does nothing before listen has started: a SIGTERM pending since start-up
  // would then leave the listener (and this thread, joining it) running forever.
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("{}: no new runs; waiting up to {} s for {} in flight",
               sig == SIGTERM ? "SIGTERM" : "SIGINT", config.server.shutdown_grace,
               service.running());
  service.start_draining();
  const auto grace_end = Clock::now() + std::chrono::seconds(config.server.shutdown_grace);
  while (service.running() > 0 && Clock::now() < grace_end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (service.running() > 0) spdlog::warn("grace period over: killing {} runs", service.running());
  service.abort_runs();
  server.stop();
  listener.join();
  pool.stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace pyrunner
