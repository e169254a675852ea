#include "core/access/keys.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <set>

#include "core/util/fd.h"

namespace pyrunner {
namespace {

// Weight of a run's length in the key's moving average (as the admission's pace).
constexpr double kPaceWeight = 0.1;
// A Retry-After never says more than this: a client should look again within the hour.
constexpr double kMaxRetryAfterS = 3600;

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool parse_hex_digest(std::string_view hex, KeyDigest* out) {
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    int byte = 0;
    for (char c : hex.substr(i * 2, 2)) {
      const int v = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
      if (v < 0) return false;
      byte = byte * 16 + v;
    }
    (*out)[i] = static_cast<uint8_t>(byte);
  }
  return true;
}

// What a key may be made of: printable ASCII without spaces (it travels in an HTTP header).
bool valid_key_text(std::string_view key) {
  return !key.empty() &&
         std::all_of(key.begin(), key.end(), [](char c) { return c > ' ' && c < 127; });
}

}  // namespace

KeyDigest sha256(std::string_view text) {
  KeyDigest d;
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  return d;
}

std::string hex_of(const KeyDigest& digest) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (uint8_t b : digest) {
    s += hex[b >> 4];
    s += hex[b & 15];
  }
  return s;
}

std::string key_id_of(const KeyDigest& digest) { return hex_of(digest).substr(0, 8); }

Result<std::vector<KeyDigest>> parse_keys_file(std::string_view text, const std::string& source) {
  std::vector<KeyDigest> digests;
  int number = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const std::string_view line = trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++number;
    if (line.empty() || line.front() == '#') continue;
    const std::string where = source + ": line " + std::to_string(number);
    if (line.rfind("sha256:", 0) == 0) {
      KeyDigest d;
      if (!parse_hex_digest(line.substr(7), &d))
        return Status::Error(where + ": sha256: must be followed by 64 hex digits");
      digests.push_back(d);
    } else if (!valid_key_text(line)) {
      return Status::Error(where +
                           ": a key is one word of printable ASCII (no spaces or control "
                           "characters); write a comment with '#'");
    } else {
      digests.push_back(sha256(line));
    }
  }
  if (digests.empty()) return Status::Error(source + ": lists no key (only comments or blanks)");
  return digests;
}

std::vector<KeyDigest> parse_keys_list(std::string_view text) {
  std::vector<KeyDigest> digests;
  size_t i = 0;
  while (i < text.size()) {
    const auto separator = [](char c) {
      return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
    };
    while (i < text.size() && separator(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && !separator(text[j])) ++j;
    if (j > i) digests.push_back(sha256(text.substr(i, j - i)));
    i = j;
  }
  return digests;
}

ApiKey::ApiKey(const KeyDigest& digest, const KeyLimits& limits)
    : digest_(digest),
      id_(key_id_of(digest)),
      limits_(limits),
      tokens_(limits.requests_per_minute),
      refilled_(Clock::now()) {}

int ApiKey::take_request(Clock::time_point now) {
  const int per_minute = limits_.requests_per_minute;
  if (per_minute <= 0) return 0;
  const double rate = per_minute / 60.0;  // tokens a second
  std::lock_guard<std::mutex> lock(mutex_);
  const double elapsed = std::chrono::duration<double>(now - refilled_).count();
  if (elapsed > 0) {
    tokens_ = std::min<double>(per_minute, tokens_ + elapsed * rate);
    refilled_ = now;
  }
  if (tokens_ >= 1) {
    tokens_ -= 1;
    return 0;
  }
  // Less a nanosecond's worth: what is a whole number of seconds away is not rounded past it.
  const double wait = (1 - tokens_) / rate - 1e-9;
  return static_cast<int>(std::clamp(std::ceil(wait), 1.0, kMaxRetryAfterS));
}

bool ApiKey::start_run() {
  const int limit = limits_.concurrent_runs;
  int now = runs_.load();
  do {
    if (limit > 0 && now >= limit) return false;
  } while (!runs_.compare_exchange_weak(now, now + 1));
  return true;
}

void ApiKey::end_run(double held_s) {
  --runs_;
  std::lock_guard<std::mutex> lock(mutex_);
  mean_run_s_ = mean_run_s_ == 0 ? held_s : (1 - kPaceWeight) * mean_run_s_ + kPaceWeight * held_s;
}

int ApiKey::retry_after_run_s() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(std::clamp(std::ceil(mean_run_s_), 1.0, kMaxRetryAfterS));
}

KeyRun::KeyRun(ApiKey* key) : key_(key), since_(ApiKey::Clock::now()) {
  if (key_ != nullptr) counted_ = key_->start_run();
}

KeyRun::~KeyRun() {
  if (key_ != nullptr && counted_)
    key_->end_run(std::chrono::duration<double>(ApiKey::Clock::now() - since_).count());
}

KeyRing::KeyRing(const Config& config, const std::vector<KeyDigest>& digests) {
  std::set<KeyDigest> seen;
  for (const auto& d : digests) {
    if (!seen.insert(d).second) continue;  // the same key twice is the same key
    keys_.push_back(std::make_unique<ApiKey>(d, config.limits_of_key(key_id_of(d))));
  }
}

Result<std::unique_ptr<KeyRing>> KeyRing::load(const Config& config, const char* env_keys) {
  std::vector<KeyDigest> digests;
  const std::string& path = config.server.api_keys_file;
  if (!path.empty()) {
    const std::string where = "server.api_keys_file '" + path + "'";
    if (::access(path.c_str(), R_OK) != 0) return Status::Sys(where + ": cannot read it", errno);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return Status::Sys(where + ": open", errno);
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    if (n < 0) return Status::Sys(where + ": read", errno);
    auto parsed = parse_keys_file(text, where);
    if (!parsed.ok()) return parsed.status();
    digests = std::move(parsed.value());
  }
  if (env_keys != nullptr) {
    auto more = parse_keys_list(env_keys);
    digests.insert(digests.end(), more.begin(), more.end());
  }
  auto ring = std::make_unique<KeyRing>(config, digests);
  std::set<std::string> ids;
  for (const auto& key : ring->keys()) {
    if (!ids.insert(key->id()).second)
      return Status::Error("API keys: two keys have the id " + key->id() +
                           " (the first 8 hex digits of their SHA-256); replace one of them");
  }
  for (const auto& [id, limits] : config.server.key_overrides) {
    if (ids.count(id) == 0)
      return Status::Error("server.key_overrides." + id + ": no API key has this id");
  }
  return ring;
}

ApiKey* KeyRing::find(std::string_view presented) const {
  if (presented.empty()) return nullptr;
  const KeyDigest digest = sha256(presented);
  // Select without a branch on the match: which key (if any) matched takes no different time.
  uintptr_t found = 0;
  for (const auto& key : keys_) {
    const uintptr_t equal = CRYPTO_memcmp(digest.data(), key->digest().data(), digest.size()) == 0;
    found |= reinterpret_cast<uintptr_t>(key.get()) & (0 - equal);
  }
  return reinterpret_cast<ApiKey*>(found);
}

std::string_view presented_key(std::string_view authorization, std::string_view x_api_key) {
  authorization = trim(authorization);
  // The scheme is case-insensitive (RFC 9110, 11.1).
  if (authorization.size() > 7) {
    std::string scheme(authorization.substr(0, 7));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (scheme == "bearer ") return trim(authorization.substr(7));
  }
  return trim(x_api_key);
}

}  // namespace pyrunner
