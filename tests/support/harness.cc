#include "support/harness.h"

#include <fcntl.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace pyrunner::testing {
namespace {

pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& env, int in_fd,
            int out_fd, int err_fd) {
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.push_back(*e);
  envs.insert(envs.end(), env.begin(), env.end());
  std::vector<char*> argv, envp;
  auto args_copy = args;
  for (auto& a : args_copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_fd, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn " + args[0] + " failed");
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

}  // namespace

std::string binary() { return PYRUNNER_BINARY; }

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}
std::string source_path(const std::string& relative) {
  return std::string(PYRUNNER_SOURCE_DIR) + "/" + relative;
}

int in_forked_child(const std::function<int()>& checks) {
  pid_t child = fork();
  if (child < 0) return -1;
  if (child == 0) _exit(checks());
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

ProcessResult run_process(const std::vector<std::string>& args, const std::string& input,
                          const std::vector<std::string>& env, int timeout_s) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
    throw std::runtime_error("pipe");
  pid_t pid = spawn(args, env, in[0], out[1], err[1]);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  ProcessResult r;
  size_t sent = 0;
  int in_fd = in[1];
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  bool out_open = true, err_open = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while ((out_open || err_open) && std::chrono::steady_clock::now() < deadline) {
    pollfd fds[3];
    int n = 0;
    if (out_open) fds[n++] = {out[0], POLLIN, 0};
    if (err_open) fds[n++] = {err[0], POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (poll(fds, n, 200) <= 0) continue;
    for (int i = 0; i < n; ++i) {
      if (!fds[i].revents) continue;
      if (fds[i].fd == in_fd) {
        ssize_t w = write(in_fd, input.data() + sent, input.size() - sent);
        if (w > 0) sent += static_cast<size_t>(w);
        if (w < 0 || sent == input.size()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      char buf[65536];
      ssize_t k = read(fds[i].fd, buf, sizeof buf);
      if (k <= 0) {
        (fds[i].fd == out[0] ? out_open : err_open) = false;
        continue;
      }
      (fds[i].fd == out[0] ? r.out : r.err).append(buf, static_cast<size_t>(k));
    }
  }
  if (in_fd >= 0) close(in_fd);
  if (out_open || err_open) kill(pid, SIGKILL);
  close(out[0]);
  close(err[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = decode_status(status);
  return r;
}

CliRun run_code(const std::string& code, const std::vector<std::string>& extra,
                const std::vector<std::string>& env) {
  std::vector<std::string> args = {binary(), "run"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("-");
  CliRun run;
  run.process = run_process(args, code, env);
  run.result = nlohmann::json::parse(run.process.out, nullptr, false);
  if (run.result.is_discarded()) run.result = nullptr;
  return run;
}

TempFile::TempFile(const std::string& contents, const std::string& name) {
  char tmpl[] = "/tmp/pyrunner-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
  dir_ = tmpl;
  path_ = dir_ + "/" + name;
  std::ofstream(path_, std::ios::binary) << contents;
}

TempFile::~TempFile() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

nlohmann::json HttpResponse::json() const {
  auto j = nlohmann::json::parse(body, nullptr, false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

TestServer::TestServer(const std::string& config_yaml, const std::vector<std::string>& env,
                       bool wait, const std::vector<std::string>& wrapper) {
  std::vector<std::string> args = wrapper;
  args.insert(args.end(), {binary(), "serve", "--port", "0"});
  if (!config_yaml.empty()) {
    config_ = std::make_unique<TempFile>(config_yaml, "pyrunner.yaml");
    args.push_back("--config");
    args.push_back(config_->path());
  }
  int err[2];
  if (pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  pid_ = spawn(args, env, devnull, devnull, err[1]);
  close(devnull);
  close(err[1]);
  stderr_fd_ = err[0];
  reader_ = std::thread([this] {
    char buf[4096];
    ssize_t n;
    while ((n = read(stderr_fd_, buf, sizeof buf)) > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      log_.append(buf, static_cast<size_t>(n));
    }
  });
  if (!wait) return;
  // A guard against a hang, not a timing check: on a busy host the zygote's start-up alone may
  // take its whole start-up timeout (120 s) before the server falls back and listens.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto pos = log_.find("listening on http://");
      if (pos != std::string::npos) {
        auto colon = log_.find(':', pos + 20);
        port_ = std::atoi(log_.c_str() + colon + 1);
        return;
      }
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string failure = "server did not start: " + log();
  stop();  // the destructor does not run when the constructor throws
  throw std::runtime_error(failure);
}

TestServer::~TestServer() { stop(); }

void TestServer::stop() {
  // Gracefully, so that the server removes its cgroups; SIGKILL only if it does not stop.
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status;
    for (int i = 0; i < 3000 && waitpid(pid_, &status, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (waitpid(pid_, &status, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_ = -1;
  if (reader_.joinable()) reader_.join();
  if (stderr_fd_ >= 0) close(stderr_fd_);
  stderr_fd_ = -1;
}

int TestServer::terminate() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return decode_status(status);
}

bool TestServer::alive() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return true;
  pid_ = -1;
  return false;
}

std::string TestServer::log() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return log_;
}

static HttpResponse convert(const httplib::Result& res) {
  HttpResponse r;
  if (!res) return r;
  r.status = res->status;
  r.body = res->body;
  for (const auto& [k, v] : res->headers) r.headers[k] = v;
  return r;
}

HttpResponse TestServer::get(const std::string& path) const {
  httplib::Client client("127.0.0.1", port_);
  client.set_read_timeout(120);
  client.set_default_headers(httplib::Headers(default_headers_.begin(), default_headers_.end()));
  return convert(client.Get(path.c_str()));
}

HttpResponse TestServer::post(const std::string& path, const std::string& body,
                              const std::string& content_type) const {
  httplib::Client client("127.0.0.1", port_);
  client.set_read_timeout(120);
  client.set_default_headers(httplib::Headers(default_headers_.begin(), default_headers_.end()));
  return convert(client.Post(path.c_str(), body, content_type.c_str()));
}

HttpResponse TestServer::del(const std::string& path) const {
  httplib::Client client("127.0.0.1", port_);
  client.set_read_timeout(120);
  client.set_default_headers(httplib::Headers(default_headers_.begin(), default_headers_.end()));
  return convert(client.Delete(path.c_str()));
}

HttpResponse TestServer::send(
    const std::string& method, const std::string& path, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers) const {
  httplib::Client client("127.0.0.1", port_);
  client.set_read_timeout(120);
  client.set_default_headers(httplib::Headers(default_headers_.begin(), default_headers_.end()));
  httplib::Request req;
  req.method = method;
  req.path = path;
  for (const auto& [name, value] : headers) req.set_header(name, value);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req.body = body;
    if (!req.has_header("Content-Type")) req.set_header("Content-Type", "application/json");
  }
  return convert(client.send(req));
}

HttpResponse TestServer::run(const std::string& code, nlohmann::json fields) const {
  fields["code"] = code;
  return post("/run", fields.dump());
}

std::optional<double> metric(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return std::nullopt;
}

}  // namespace pyrunner::testing
