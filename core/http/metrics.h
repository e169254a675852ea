#pragma once
/// Prometheus metrics of the server: requests by route and status, runs by outcome, run
/// latency, the wait for a run slot, in-flight runs, overload rejections, streamed answers.

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace pyrunner {

/// The reception's connections and workers, now (gauges).
struct ConnectionGauges {
  int open = 0, receiving = 0, queued = 0, serving = 0, threads = 0;
};

class Metrics {
 public:
  void request(const std::string& route, int status);
  void run_finished(const std::string& outcome, double seconds);
  /// How long a run waited for its slot, from its request's arrival.
  void queue_wait(double seconds);
  void run_started();
  void run_ended();
  void rejected();
  void session_created();
  void session_ended();
  /// The API keys' ids (with keys configured): each has its series from the start, at zero.
  void add_keys(const std::vector<std::string>& ids);
  /// A request that presented the key (whatever its answer).
  void key_request(const std::string& id);
  /// A run of the key that got its slot.
  void key_run(const std::string& id);
  /// A request refused for the key's `limit` (429); id "" and "unauthorized": a 401.
  void key_rejected(const std::string& id, const std::string& limit);
  /// A streamed answer (Accept: application/x-ndjson, text/event-stream) began, or ended.
  void stream_started();
  void stream_ended();
  /// The Prometheus text exposition format (version 0.0.4).
  std::string render(int pool_ready, int pool_size, int sessions_open = 0,
                     const ConnectionGauges& connections = {}) const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,  0.5,   1,    5,     30};
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, long> requests_;
  std::map<std::string, long> runs_;
  std::array<long, kBuckets.size()> bucket_counts_{};
  static constexpr std::array<double, 12> kWaitBuckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.25,
                                                          0.5,   1,     2.5,  5,    10,  30};
  std::array<long, kWaitBuckets.size()> wait_counts_{};
  long wait_count_ = 0;
  double wait_sum_ = 0;
  long latency_count_ = 0;
  double latency_sum_ = 0;
  long in_flight_ = 0;
  long rejected_ = 0;
  long sessions_created_ = 0;
  long sessions_ended_ = 0;
  struct KeyCounts {
    long requests = 0, runs = 0;
    std::map<std::string, long> rejected;  // by limit
  };
  std::map<std::string, KeyCounts> keys_;  // by key id; empty without keys
  long unauthorized_ = 0;
  long streams_started_ = 0;
  long streams_active_ = 0;
};

}  // namespace pyrunner
