#include "support/mcp_client.h"

#include <fcntl.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

extern char** environ;

namespace pyrunner::testing {

using nlohmann::json;

json rpc_request(const json& id, const std::string& method, json params) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

StdioMcp::StdioMcp(const std::string& config_yaml, const std::vector<std::string>& env) {
  signal(SIGPIPE, SIG_IGN);  // a write to a server that has exited fails instead
  std::vector<std::string> args = {binary(), "mcp"};
  if (!config_yaml.empty()) {
    config_ = std::make_unique<TempFile>(config_yaml, "pyrunner.yaml");
    args.push_back("--config");
    args.push_back(config_->path());
  }
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe2");
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.push_back(*e);
  envs.insert(envs.end(), env.begin(), env.end());
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (rc != 0) throw std::runtime_error("posix_spawn " + args[0]);
  in_ = in[1];
  out_ = out[0];
  err_ = err[0];
  reader_ = std::thread([this] {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(err_, buf, sizeof buf)) > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      log_.append(buf, static_cast<size_t>(n));
    }
  });
}

StdioMcp::~StdioMcp() {
  close_stdin();
  if (!wait(std::chrono::seconds(30))) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (reader_.joinable()) reader_.join();
  if (out_ >= 0) close(out_);
  if (err_ >= 0) close(err_);
}

bool StdioMcp::write_raw(const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(in_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

json StdioMcp::read(std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const auto newline = pending_.find('\n');
    if (newline != std::string::npos) {
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      json message = json::parse(line, nullptr, false);
      if (message.is_discarded()) {
        non_json.push_back(line);
        continue;
      }
      return message;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return nullptr;
    pollfd p = {out_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[65536];
    ssize_t n = ::read(out_, buf, sizeof buf);
    if (n <= 0) return nullptr;
    pending_.append(buf, static_cast<size_t>(n));
  }
}

json StdioMcp::request(const std::string& method, json params) {
  const int id = next_id_++;
  if (!send(rpc_request(id, method, std::move(params)))) return nullptr;
  for (;;) {
    json message = read();
    if (message.is_null()) return message;
    if (message.is_object() && message.contains("id") && message["id"] == id) return message;
    others.push_back(std::move(message));
  }
}

json StdioMcp::initialize(const std::string& version) {
  json answer =
      request("initialize", {{"protocolVersion", version},
                             {"capabilities", json::object()},
                             {"clientInfo", {{"name", "pyrunner-tests"}, {"version", "1"}}}});
  send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  return answer;
}

json StdioMcp::call(const std::string& tool, json arguments) {
  return request("tools/call", {{"name", tool}, {"arguments", std::move(arguments)}});
}

void StdioMcp::disappear() {
  close_stdin();
  if (out_ >= 0) close(out_);
  out_ = -1;
}

void StdioMcp::close_stdin() {
  if (in_ >= 0) close(in_);
  in_ = -1;
}

std::optional<int> StdioMcp::wait(std::chrono::milliseconds limit) {
  if (exit_code_) return exit_code_;
  const auto end = std::chrono::steady_clock::now() + limit;
  do {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      return exit_code_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < end);
  return std::nullopt;
}

std::string StdioMcp::log() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return log_;
}

HttpResponse http_request(int port, const std::string& method, const std::string& path,
                          const std::string& body, const HttpMcp::Headers& headers) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(300);
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.body = body;
  for (const auto& [name, value] : headers) req.headers.emplace(name, value);
  HttpResponse r;
  auto res = client.send(req);
  if (!res) return r;
  r.status = res->status;
  r.body = res->body;
  for (const auto& [k, v] : res->headers) r.headers[k] = v;
  return r;
}

HttpMcp::HttpMcp(const TestServer& server, const std::string& version, Headers always)
    : server_(server), version_(version), always_(std::move(always)) {
  initialize_ = post(rpc_request(next_id_++, "initialize",
                                 {{"protocolVersion", version},
                                  {"capabilities", json::object()},
                                  {"clientInfo", {{"name", "pyrunner-tests"}, {"version", "1"}}}})
                         .dump());
  auto it = initialize_.headers.find("Mcp-Session-Id");
  if (initialize_.status != 200 || it == initialize_.headers.end()) return;
  session_id_ = it->second;
  post(json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}.dump());
}

HttpResponse HttpMcp::post(const std::string& body, const Headers& extra) const {
  Headers headers = {{"Content-Type", "application/json"},
                     {"Accept", "application/json, text/event-stream"}};
  if (!session_id_.empty()) {
    headers.emplace_back("Mcp-Session-Id", session_id_);
    headers.emplace_back("MCP-Protocol-Version", version_);
  }
  headers.insert(headers.end(), always_.begin(), always_.end());
  headers.insert(headers.end(), extra.begin(), extra.end());
  return http_request(server_.port(), "POST", "/mcp", body, headers);
}

json HttpMcp::request(const std::string& method, json params) {
  auto r = post(rpc_request(next_id_++, method, std::move(params)).dump());
  return json::parse(r.body, nullptr, false).is_discarded() ? json() : json::parse(r.body);
}

json HttpMcp::call(const std::string& tool, json arguments) {
  return request("tools/call", {{"name", tool}, {"arguments", std::move(arguments)}});
}

int HttpMcp::end() {
  Headers headers = {{"Mcp-Session-Id", session_id_}};
  headers.insert(headers.end(), always_.begin(), always_.end());
  return http_request(server_.port(), "DELETE", "/mcp", "", headers).status;
}

std::string result_text(const json& call_result) {
  std::string text;
  if (!call_result.is_object() || !call_result.contains("content")) return text;
  for (const auto& item : call_result["content"]) {
    if (item.value("type", "") == "text") text += item.value("text", "") + "\n";
  }
  return text;
}

}  // namespace pyrunner::testing
