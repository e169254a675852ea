#include "core/mcp/http_sessions.h"

#include <spdlog/spdlog.h>
#include <sys/random.h>

#include <algorithm>
#include <vector>

#include "core/access/keys.h"

namespace pyrunner::mcp {
namespace {

using Clock = std::chrono::steady_clock;

std::string random_id() {
  unsigned char bytes[16];
  size_t have = 0;
  while (have < sizeof bytes) {
    ssize_t n = getrandom(bytes + have, sizeof bytes - have, 0);
    if (n > 0) have += static_cast<size_t>(n);
  }
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += hex[b >> 4];
    id += hex[b & 15];
  }
  return id;
}

}  // namespace

HttpSessions::~HttpSessions() {
  std::map<std::string, std::shared_ptr<HttpSession>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    all.swap(sessions_);
  }
  for (auto& [id, session] : all) session->tools.close("the server stopped");
}

std::shared_ptr<HttpSession> HttpSessions::open(ApiKey* owner, bool* over_key_limit) {
  *over_key_limit = false;
  std::vector<std::shared_ptr<HttpSession>> expired;
  std::shared_ptr<HttpSession> session;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = Clock::now();
    const auto idle = std::chrono::seconds(s_.config.sessions.idle_timeout);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (it->second->requests == 0 && now - it->second->last_used > idle) {
        expired.push_back(it->second);
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
    const int key_limit = owner != nullptr ? owner->limits().sessions : 0;
    const auto owned = std::count_if(sessions_.begin(), sessions_.end(),
                                     [&](const auto& e) { return e.second->owner == owner; });
    if (key_limit > 0 && owned >= key_limit) {
      *over_key_limit = true;
    } else if (static_cast<int>(sessions_.size()) < s_.config.sessions.max_sessions) {
      session = std::make_shared<HttpSession>(s_, owner);
      session->id = random_id();
      session->last_used = now;
      sessions_[session->id] = session;
    }
  }
  for (auto& e : expired) {
    spdlog::info("mcp session {} expired", e->id.substr(0, 8));
    e->tools.close("its MCP session expired: idle for " +
                   std::to_string(s_.config.sessions.idle_timeout) + " s");
  }
  return session;
}

std::shared_ptr<HttpSession> HttpSessions::find(const std::string& id, const ApiKey* caller) {
  std::shared_ptr<HttpSession> expired;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end() || it->second->owner != caller) return nullptr;
    const auto now = Clock::now();
    if (it->second->requests > 0 ||
        now - it->second->last_used <= std::chrono::seconds(s_.config.sessions.idle_timeout)) {
      it->second->last_used = now;
      return it->second;
    }
    expired = it->second;
    sessions_.erase(it);
  }
  expired->tools.close("its MCP session expired: idle for " +
                       std::to_string(s_.config.sessions.idle_timeout) + " s");
  return nullptr;
}

bool HttpSessions::remove(const std::string& id, const ApiKey* caller, const std::string& why) {
  std::shared_ptr<HttpSession> session;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end() || it->second->owner != caller) return false;
    session = it->second;
    sessions_.erase(it);
  }
  session->tools.close(why);  // a request still using it keeps the object until it answers
  return true;
}

int HttpSessions::open_count() {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(sessions_.size());
}

}  // namespace pyrunner::mcp
