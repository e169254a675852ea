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
#include <regex>

#include "core/compat/replies.h"
#include "core/executor/executor.h"
#include "core/executor/scheduling.h"
#include "core/http/admission.h"
#include "core/http/backend.h"
#include "core/http/health.h"
#include "core/http/isolation.h"
#include "core/http/metrics.h"
#include "core/http/openapi.h"
#include "core/http/route.h"
#include "core/http/run_service.h"
#include "core/http/services.h"
#include "core/model/outcome.h"
#include "core/pool/pool.h"
#include "core/sandbox/host.h"
#include "core/sandbox/namespaces.h"
#include "core/util/fd.h"
#include "core/validator/validator.h"
#include "version.h"

namespace pyrunner {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::ordered_json;

constexpr const char* kJson = "application/json";

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

// What the logger reports as a request's route: set by the route's wrapper, on the thread that
// answers (httplib logs on that thread, right after the handler).
thread_local std::string current_route;

HttpRequest to_request(const httplib::Request& req, int local_port) {
  HttpRequest r;
  r.method = req.method;
  r.path = req.path;
  r.body = req.body;
  r.remote_addr = req.remote_addr;
  for (const auto& [name, value] : req.headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    r.headers.emplace(std::move(lower), value);
  }
  for (const auto& [name, value] : req.params) r.params.emplace(name, value);
  for (size_t i = 1; i < req.matches.size(); ++i) r.captures.push_back(req.matches[i]);
  r.client_fd = [&req, local_port] { return client_socket(req, local_port); };
  return r;
}

void send_response(HttpResponse& out, httplib::Response& res) {
  res.status = out.status;
  for (auto& [name, value] : out.headers) res.set_header(name, value);
  if (out.stream) {
    auto stream = std::make_shared<std::function<void(const ChunkWriter&)>>(std::move(out.stream));
    res.set_chunked_content_provider(out.content_type, [stream](size_t, httplib::DataSink& sink) {
      (*stream)([&sink](std::string_view chunk) {
        return sink.is_writable() && sink.write(chunk.data(), chunk.size());
      });
      sink.done();
      return true;
    });
    return;
  }
  res.set_content(std::move(out.body), out.content_type);
}

// Registers the routes with httplib, each handler wrapped so that it sees only our types; a
// known path with another method answers 405 with the methods it has.
void register_routes(httplib::Server& server, std::vector<Route> routes, const int* local_port) {
  std::map<std::string, std::vector<std::string>> methods;  // pattern -> its methods
  for (auto& route : routes) {
    methods[route.pattern].push_back(route.method);
    auto wrapped = [route, local_port](const httplib::Request& req, httplib::Response& res) {
      current_route = route.label;
      HttpRequest request = to_request(req, *local_port);
      HttpResponse response;
      route.handler(request, response);
      if (!response.run_status.empty()) {
        res.set_header("X-Run-Status", response.run_status);
        spdlog::info("{} {} {} status={} code_bytes={}", req.method, route.label, response.status,
                     response.run_status, req.body.size());
      }
      send_response(response, res);
    };
    if (route.method == "GET") server.Get(route.pattern, wrapped);
    if (route.method == "POST") server.Post(route.pattern, wrapped);
    if (route.method == "DELETE") server.Delete(route.pattern, wrapped);
    if (route.method == "PUT") server.Put(route.pattern, wrapped);
  }
  for (const auto& [pattern, allowed_methods] : methods) {
    std::string allowed;
    for (const auto& m : allowed_methods) allowed += m + ", ";
    allowed += "OPTIONS";
    auto not_allowed = [allowed](const httplib::Request& req, httplib::Response& res) {
      res.status = 405;
      res.set_header("Allow", allowed);
      res.set_content(error_body(req.method + " is not allowed here; use " + allowed), kJson);
    };
    const auto has = [&](const char* m) {
      return std::find(allowed_methods.begin(), allowed_methods.end(), m) != allowed_methods.end();
    };
    if (!has("GET")) server.Get(pattern, not_allowed);
    if (!has("POST")) server.Post(pattern, not_allowed);
    if (!has("PUT")) server.Put(pattern, not_allowed);
    if (!has("DELETE")) server.Delete(pattern, not_allowed);
    server.Patch(pattern, not_allowed);
  }
}

void cors(const Config& config, const httplib::Request& req, httplib::Response& res) {
  const auto& origins = config.server.cors_origins;
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
  // A browser's MCP client reads the session id initialize answers with, and sends it back.
  res.set_header("Access-Control-Expose-Headers", "Mcp-Session-Id");
  if (req.method == "OPTIONS") {
    res.set_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
    res.set_header("Access-Control-Allow-Headers",
                   "Content-Type, Authorization, X-API-Key, Mcp-Session-Id, MCP-Protocol-Version");
    res.set_header("Access-Control-Max-Age", "600");
  }
}

// What every answer goes through: CORS, the error bodies, the exception funnel, the log line
// and the request metrics.
// The label of the route whose pattern `path` matches, for answers no handler gave (a 413
// before the body was read): "other" when none does.
class RouteLabels {
 public:
  explicit RouteLabels(const std::vector<Route>& routes) {
    for (const auto& r : routes) labels_.emplace_back(std::regex(r.pattern), r.label);
  }
  const std::string& of(const std::string& path) const {
    for (const auto& [pattern, label] : labels_) {
      if (std::regex_match(path, pattern)) return label;
    }
    return other_;
  }

 private:
  std::vector<std::pair<std::regex, std::string>> labels_;
  const std::string other_ = "other";
};

void install_handlers(httplib::Server& server, const Config& config, Metrics& metrics,
                      const RouteLabels& labels) {
  server.Options(".*", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  server.set_post_routing_handler(
      [&config](const httplib::Request& req, httplib::Response& res) { cors(config, req, res); });
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404)
      res.set_content(error_body("no route for " + req.method + " " + req.path), kJson);
    if (res.status == 405) res.set_content(error_body("method not allowed"), kJson);
    if (res.status == 413) {
      // In the error shape of the API the path belongs to (the drop-in APIs have their own).
      const nlohmann::json body = {
          {compat::error_key_for_path(req.path), "body: larger than the maximum request size"}};
      res.set_content(body.dump(), kJson);
    }
    if (res.body.empty()) res.set_content(error_body("HTTP " + std::to_string(res.status)), kJson);
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
        res.set_content(error_body("internal error"), kJson);
      });
  // Every answer is counted here, in one place; a run's answer was logged with its run (its
  // route marks it), anything else (a 413 before the handler, a 404) is logged here.
  server.set_logger([&metrics, &labels](const httplib::Request& req, const httplib::Response& res) {
    metrics.request(current_route.empty() ? labels.of(req.path) : current_route, res.status);
    current_route.clear();
    if (!res.has_header("X-Run-Status")) spdlog::info("{} {} {}", req.method, req.path, res.status);
  });
  // curl -d sends JSON as application/x-www-form-urlencoded, which httplib would cap at 8 KiB
  // (413) and parse as a query string: POST bodies are JSON whatever their type says.
  server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    current_route.clear();
    if (req.method == "POST") {
      auto& headers = const_cast<httplib::Request&>(req).headers;  // ours until routed
      auto type = headers.find("Content-Type");
      if (type != headers.end() && type->second.find("application/x-www-form-urlencoded") == 0)
        type->second = "application/json";
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
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

// Whether `host:port` can be bound, asked before the sandbox and the zygote are set up (seconds
// of work a busy port would waste). The probe socket is closed again; httplib binds its own.
Status check_listen_address(const std::string& host, int port) {
  const std::string where = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    return Status::Error("cannot listen on " + where + ": getaddrinfo: " + gai_strerror(rc));
  UniqueFd fd(::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol));
  int one = 1;  // as the server's own socket: a port left in TIME_WAIT is free
  int err = 0;
  if (!fd.valid() || setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::bind(fd.get(), found->ai_addr, found->ai_addrlen) != 0)
    err = errno;
  freeaddrinfo(found);
  if (err == 0) return Status::Ok();
  return Status::Sys("cannot listen on " + where + ": bind", err);
}

int listen_and_serve(const Config& config, Backend& backend, const sigset_t& stop_signals);

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
  log_to_stderr();
  raise_fd_limit();
  if (config.server.port != 0) {
    if (auto s = check_listen_address(config.server.host, config.server.port); !s.ok()) {
      spdlog::critical("{}", s.message());
      return exit_code::kCannotListen;
    }
  }

  auto started = Backend::start(config);
  if (auto* code = std::get_if<int>(&started)) return *code;
  auto backend = std::move(std::get<std::unique_ptr<Backend>>(started));
  const int code = listen_and_serve(config, *backend, stop_signals);
  backend.reset();  // the server is gone (and its routes' state): now the sessions and the pool
  if (code == 0) spdlog::info("stopped");
  return code;
}

namespace {

int listen_and_serve(const Config& config, Backend& backend, const sigset_t& stop_signals) {
  Services& services = backend.services();
  httplib::Server server;
  const size_t threads = static_cast<size_t>(config.server.threads);
  server.new_task_queue = [threads] { return new BoundedTaskQueue(threads, threads * 4); };
  server.set_payload_max_length(static_cast<size_t>(config.server.max_body_bytes));
  server.set_keep_alive_timeout(5);
  server.set_keep_alive_max_count(1000);  // httplib's default of 5 reconnects clients constantly
  server.set_tcp_nodelay(true);  // headers and body go out in separate writes: no Nagle delay
  server.set_read_timeout(30);
  int local_port = 0;
  auto routes = all_routes(services);
  const RouteLabels labels(routes);
  install_handlers(server, config, services.metrics, labels);
  register_routes(server, std::move(routes), &local_port);

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
    return exit_code::kCannotListen;
  }
  if (listen_fd >= 0) ::listen(listen_fd, SOMAXCONN);
  local_port = port;
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
  backend.stop_runs(sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server.stop();
  listener.join();
  return 0;
}

}  // namespace

}  // namespace pyrunner
