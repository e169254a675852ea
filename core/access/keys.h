#pragma once
/// API keys (DESIGN.md, "Access control and fairness"): which keys the server accepts, read
/// once at start from server.api_keys_file and $PYRUNNER_API_KEYS, and what each one uses now.
///
/// A key is known by the SHA-256 of its text only: a presented key is hashed and compared with
/// every known digest in constant time, so neither the comparison's time nor a log line can
/// give a key away. A key's id, the first 8 hex digits of its digest, is what logs, metrics and
/// server.key_overrides name it by.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/config.h"
#include "core/util/status.h"

namespace pyrunner {

using KeyDigest = std::array<uint8_t, 32>;

KeyDigest sha256(std::string_view text);
std::string hex_of(const KeyDigest& digest);
/// The id of the key whose digest this is: its first 8 hex digits.
std::string key_id_of(const KeyDigest& digest);

/// The digests a keys file lists: one key a line, or `sha256:<64 hex digits>` (the key's
/// digest, so that the file need not hold the key itself); `#` comments and blank lines are
/// skipped, spaces around a line trimmed. A malformed line is an error naming `source` and the
/// line number, never quoting the line (it may be a key).
Result<std::vector<KeyDigest>> parse_keys_file(std::string_view text, const std::string& source);
/// The keys of $PYRUNNER_API_KEYS: separated by commas or white space.
std::vector<KeyDigest> parse_keys_list(std::string_view text);

/// One key the server accepts: its id, its limits and what it uses now. Thread-safe.
class ApiKey {
 public:
  using Clock = std::chrono::steady_clock;

  ApiKey(const KeyDigest& digest, const KeyLimits& limits);

  const KeyDigest& digest() const { return digest_; }
  const std::string& id() const { return id_; }
  const KeyLimits& limits() const { return limits_; }

  /// Takes a request from the key's token bucket (requests_per_minute tokens, refilled at
  /// that rate). 0: taken; otherwise the whole seconds until a token is back (Retry-After).
  int take_request(Clock::time_point now = Clock::now());
  /// Counts a run of the key (in a slot or waiting for one); false, and nothing counted, when
  /// concurrent_runs are already counted.
  bool start_run();
  /// The run is over; `held_s`: how long it was counted, for retry_after_run_s().
  void end_run(double held_s);
  int runs() const { return runs_.load(); }
  /// Seconds until one of the key's runs likely ends: its runs' recent mean length, at least 1.
  int retry_after_run_s() const;

 private:
  const KeyDigest digest_;
  const std::string id_;
  const KeyLimits limits_;
  mutable std::mutex mutex_;
  double tokens_;
  Clock::time_point refilled_;
  double mean_run_s_ = 0;
  std::atomic<int> runs_{0};
};

/// Counts one run of `key` (null: no keys) for as long as it lives.
class KeyRun {
 public:
  explicit KeyRun(ApiKey* key);
  ~KeyRun();
  KeyRun(const KeyRun&) = delete;
  KeyRun& operator=(const KeyRun&) = delete;
  /// False when the key was at its concurrent_runs limit (nothing is counted then).
  bool ok() const { return key_ == nullptr || counted_; }

 private:
  ApiKey* key_;
  bool counted_ = false;
  ApiKey::Clock::time_point since_;
};

/// The keys the server accepts.
class KeyRing {
 public:
  /// server.api_keys_file (if set: a missing, unreadable or empty file, or a malformed line,
  /// is an error) and `env_keys` ($PYRUNNER_API_KEYS; null or "" adds none). Two keys with the
  /// same id are refused (they could not be told apart in logs, metrics and overrides), as is
  /// an override for an id no key has (a typo would go unnoticed).
  static Result<std::unique_ptr<KeyRing>> load(const Config& config, const char* env_keys);
  KeyRing(const Config& config, const std::vector<KeyDigest>& digests);

  bool empty() const { return keys_.empty(); }
  const std::vector<std::unique_ptr<ApiKey>>& keys() const { return keys_; }
  /// The key whose text `presented` is, or null. Every known digest is compared, in constant
  /// time, whichever matches.
  ApiKey* find(std::string_view presented) const;

 private:
  std::vector<std::unique_ptr<ApiKey>> keys_;
};

/// The key a request presents: the token of `Authorization: Bearer <key>`, else the value of
/// `X-API-Key`; "" for none. `authorization` and `x_api_key` are the headers' values.
std::string_view presented_key(std::string_view authorization, std::string_view x_api_key);

}  // namespace pyrunner
