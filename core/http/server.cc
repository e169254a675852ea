#include "core/http/server.h"

#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/access/gate.h"
#include "core/access/keys.h"
#include "core/compat/replies.h"
#include "core/executor/executor.h"
#include "core/executor/scheduling.h"
#include "core/http/admission.h"
#include "core/http/backend.h"
#include "core/http/health.h"
#include "core/http/isolation.h"
#include "core/http/metrics.h"
#include "core/http/openapi.h"
#include "core/http/reception.h"
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
// A connection between requests is closed after this long; one carries this many requests at
// most, then clients reconnect (httplib's default of 5 made them reconnect constantly).
constexpr auto kIdleTimeout = std::chrono::seconds(5);
constexpr int kRequestsPerConnection = 1000;
// How long a write waits for the client to make room before the client counts as gone.
constexpr int kWriteTimeoutMs = 5000;

// A connection's request, as cpp-httplib reads it, and its answer, as it writes it. The
// reception (reception.h) has received the whole request before a worker gets it, so reading
// never waits: the stream ends where the request does (a pipelined request after it stays for
// the next turn). Writes wait for room at most `write_timeout` each.
class ConnectionStream : public httplib::Stream {
 public:
  ConnectionStream(const Connection& conn, int write_timeout_ms)
      : conn_(conn), write_timeout_ms_(write_timeout_ms) {}

  bool is_readable() const override { return read_ < conn_.request_size; }
  // Whether the client can take more of a streamed answer: it has room (waiting for it as
  // long as a write would) and has not hung up.
  bool is_writable() const override {
    pollfd p{conn_.fd, POLLOUT | POLLRDHUP, 0};
    return poll(&p, 1, write_timeout_ms_) == 1 && (p.revents & POLLOUT) &&
           !(p.revents & (POLLRDHUP | POLLHUP | POLLERR));
  }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, conn_.request_size - read_);
    std::memcpy(ptr, conn_.bytes.data() + read_, n);
    read_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::send(conn_.fd, ptr + done, size - done, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        done += static_cast<size_t>(n);
      } else if (n < 0 && errno == EAGAIN) {
        pollfd p{conn_.fd, POLLOUT, 0};
        if (poll(&p, 1, write_timeout_ms_) != 1 || !(p.revents & POLLOUT)) return -1;
      } else if (!(n < 0 && errno == EINTR)) {
        return -1;
      }
    }
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = conn_.remote_ip;
    port = conn_.remote_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = conn_.local_ip;
    port = conn_.local_port;
  }
  int socket() const override { return conn_.fd; }
  size_t bytes_read() const { return read_; }

 private:
  const Connection& conn_;
  const int write_timeout_ms_;
  size_t read_ = 0;
};

// The connection a worker is answering: set around process_request, read by the route wrapper
// (its socket, to notice a client that hangs up mid-run; when its request arrived).
thread_local const Connection* serving = nullptr;

// cpp-httplib's parser, router and writer, given the requests the reception received.
class HttpServer : public httplib::Server {
 public:
  explicit HttpServer(int write_timeout_ms) : write_timeout_ms_(write_timeout_ms) {}

  /// While open, streamed answers go on; close() ends them (shutdown). httplib takes a valid
  /// listening socket as "running".
  void open(int listen_fd) { svr_sock_ = listen_fd; }
  void close() { svr_sock_ = INVALID_SOCKET; }

  /// Answers the request at the front of `conn`; whether the connection may carry another.
  bool serve(Connection& conn) {
    ConnectionStream stream(conn, write_timeout_ms_);
    bool closed = false;
    serving = &conn;
    const bool written = process_request(stream, conn.last, closed, nullptr);
    serving = nullptr;
    // httplib stops short of the request's end only when it could not parse it (or ignored
    // a GET's body): where the next request starts is then uncertain.
    return written && !closed && stream.bytes_read() == conn.request_size;
  }

 private:
  const int write_timeout_ms_;
};

// What the logger reports as a request's route: set by the route's wrapper, on the thread that
// answers (httplib logs on that thread, right after the handler).
thread_local std::string current_route;
// The caller's key id, for the same log line ("" without keys).
thread_local std::string current_key;

// " key=1a2b3c4d" for the log line of a request that presented a valid key.
std::string key_note() { return current_key.empty() ? "" : " key=" + current_key; }

HttpRequest to_request(const httplib::Request& req) {
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
  if (serving != nullptr) {
    r.client_fd = [fd = serving->fd] { return fd; };
    r.received_at = serving->received_at;
  }
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
// known path with another method answers 405 with the methods it has. With API keys, the
// wrapper is where every route but the open ones checks the caller's (core/access/gate.h),
// before its handler: no route can forget it.
void register_routes(httplib::Server& server, std::vector<Route> routes, const KeyRing* keys,
                     Metrics& metrics) {
  std::map<std::string, std::vector<std::string>> methods;  // pattern -> its methods
  for (auto& route : routes) {
    methods[route.pattern].push_back(route.method);
    const bool check = keys != nullptr && !route.open;
    auto wrapped = [route, check, keys, &metrics](const httplib::Request& req,
                                                  httplib::Response& res) {
      current_route = route.label;
      HttpRequest request = to_request(req);
      HttpResponse response;
      const auto started = Clock::now();
      if (!check || admit_caller(*keys, request, response, metrics)) {
        if (request.key != nullptr) current_key = request.key->id();
        route.handler(request, response);
      }
      if (!response.run_status.empty()) {
        res.set_header("X-Run-Status", response.run_status);
        // duration_ms: the handler's time (admission wait, run, result), which `make bench`
        // reads as the server-side latency.
        const std::chrono::duration<double, std::milli> took = Clock::now() - started;
        spdlog::info("{} {} {} status={} duration_ms={:.2f} code_bytes={}{}", req.method,
                     route.label, response.status, response.run_status, took.count(),
                     req.body.size(), key_note());
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
    if (!res.has_header("X-Run-Status"))
      spdlog::info("{} {} {}{}", req.method, req.path, res.status, key_note());
    current_key.clear();
  });
  // curl -d sends JSON as application/x-www-form-urlencoded, which httplib would cap at 8 KiB
  // (413) and parse as a query string: POST bodies are JSON whatever their type says.
  server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    current_route.clear();
    current_key.clear();
    if (req.method == "POST") {
      auto& headers = const_cast<httplib::Request&>(req).headers;  // ours until routed
      auto type = headers.find("Content-Type");
      if (type != headers.end() && type->second.find("application/x-www-form-urlencoded") == 0)
        type->second = "application/json";
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
}

// Connections cost a file descriptor each, not a thread (see reception.h): raise the fd limit so
// that many idle keep-alive clients do not starve the runs of fds.
void raise_fd_limit() {
  rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// The listening socket, bound before the sandbox and the zygote are set up (seconds of work a
// busy port would waste) and listened on once the server can answer. SO_REUSEADDR: a port left
// in TIME_WAIT is free; no SO_REUSEPORT, so a second server on the same port fails instead of
// sharing it.
Result<UniqueFd> bind_listener(const std::string& host, int port) {
  const std::string where = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    return Status::Error("cannot listen on " + where + ": getaddrinfo: " + gai_strerror(rc));
  UniqueFd fd(::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol));
  int one = 1;
  int err = 0;
  if (!fd.valid() || setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::bind(fd.get(), found->ai_addr, found->ai_addrlen) != 0)
    err = errno;
  freeaddrinfo(found);
  if (err != 0) return Status::Sys("cannot listen on " + where + ": bind", err);
  return fd;
}

int bound_port(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
}

int listen_and_serve(const Config& config, Backend& backend, const KeyRing* keys,
                     const sigset_t& stop_signals, UniqueFd listener);

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
  auto listener = bind_listener(config.server.host, config.server.port);
  if (!listener.ok()) {
    spdlog::critical("{}", listener.status().message());
    return exit_code::kCannotListen;
  }

  // The keys before the sandbox: a bad keys file is a config error, reported at once. The
  // environment variable is the server's own: runs never see it (their environment is clean).
  auto keys = KeyRing::load(config, std::getenv("PYRUNNER_API_KEYS"));
  if (!keys.ok()) {
    spdlog::critical("{}", keys.status().message());
    return exit_code::kConfig;
  }
  const KeyRing* ring = keys.value()->empty() ? nullptr : keys.value().get();
  if (ring != nullptr) {
    spdlog::info(
        "API keys: {} (ids {}); every route but GET /, /openapi.json and /playground needs one",
        ring->keys().size(), [&] {
          std::string ids;
          for (const auto& k : ring->keys()) ids += (ids.empty() ? "" : ", ") + k->id();
          return ids;
        }());
  } else if (config.server.host != "127.0.0.1" && config.server.host != "localhost" &&
             config.server.host != "::1") {
    spdlog::warn(
        "no API keys: anyone who reaches {}:{} can run code (README, \"Running it in "
        "public\")",
        config.server.host, config.server.port);
  }

  auto started = Backend::start(config);
  if (auto* code = std::get_if<int>(&started)) return *code;
  auto backend = std::move(std::get<std::unique_ptr<Backend>>(started));
  const int code =
      listen_and_serve(config, *backend, ring, stop_signals, std::move(listener.value()));
  backend.reset();  // the server is gone (and its routes' state): now the sessions and the pool
  if (code == 0) spdlog::info("stopped");
  return code;
}

namespace {

int listen_and_serve(const Config& config, Backend& backend, const KeyRing* keys,
                     const sigset_t& stop_signals, UniqueFd listener) {
  Services& services = backend.services();
  Metrics& metrics = services.metrics;
  services.keys = keys;
  if (keys != nullptr) {
    std::vector<std::string> ids;
    for (const auto& k : keys->keys()) ids.push_back(k->id());
    metrics.add_keys(ids);
  }
  HttpServer server(kWriteTimeoutMs);
  server.set_payload_max_length(static_cast<size_t>(config.server.max_body_bytes));
  // What the Keep-Alive header tells clients; the reception enforces both.
  server.set_keep_alive_timeout(kIdleTimeout.count());
  server.set_keep_alive_max_count(kRequestsPerConnection);
  auto routes = all_routes(services);
  const RouteLabels labels(routes);
  install_handlers(server, config, metrics, labels);
  register_routes(server, std::move(routes), keys, metrics);

  const int port = bound_port(listener.get());
  // The kernel's maximum backlog: a burst of clients waits to be accepted instead of seeing
  // connection resets.
  if (port <= 0 || ::listen(listener.get(), SOMAXCONN) != 0) {
    spdlog::critical("cannot listen on {}:{}: {}", config.server.host, config.server.port,
                     errno_text(errno));
    return exit_code::kCannotListen;
  }
  server.open(listener.get());
  ReceptionLimits limits;
  limits.framing.max_body_bytes = static_cast<uint64_t>(config.server.max_body_bytes);
  limits.read_timeout = std::chrono::seconds(config.server.read_timeout);
  limits.idle_timeout = kIdleTimeout;
  limits.max_pending_bytes = static_cast<size_t>(config.server.max_pending_mb) << 20;
  limits.max_threads = config.server.threads;
  limits.min_threads = std::min(config.server.threads, config.concurrent_runs() + 2);
  limits.max_requests_per_connection = kRequestsPerConnection;
  Reception reception(
      std::move(listener), limits, [&server](Connection& c) { return server.serve(c); },
      [&metrics, &labels](const Refusal& r) {
        const std::string path = r.target.substr(0, r.target.find('?'));
        metrics.request(path.empty() ? "other" : labels.of(path), r.status);
        spdlog::info("{} {} {} ({})", r.method.empty() ? "-" : r.method, path.empty() ? "-" : path,
                     r.status, r.detail);
      });
  services.connections = [&reception] {
    const auto st = reception.stats();
    return ConnectionGauges{st.connections, st.receiving, st.queued, st.serving, st.threads};
  };
  if (auto s = reception.start(); !s.ok()) {
    spdlog::critical("{}", s.message());
    return exit_code::kCannotListen;
  }
  spdlog::info(
      "listening on http://{}:{} (pool {}, {} pre-forked, {} concurrent runs, queue {}, up to {} "
      "threads)",
      config.server.host, port, config.pool.enabled ? "warm" : "cold",
      config.pool.enabled ? config.pool.size : 0, config.concurrent_runs(),
      config.server.max_queue < 0 ? "within queue_timeout"
                                  : std::to_string(config.server.max_queue),
      config.server.threads);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  backend.stop_runs(sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server.close();  // streamed answers end
  reception.stop();
  services.connections = [] { return ConnectionGauges{}; };  // the reception is gone
  return 0;
}

}  // namespace

}  // namespace pyrunner
