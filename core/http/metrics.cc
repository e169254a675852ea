#include "core/http/metrics.h"

#include <algorithm>
#include <sstream>

namespace pyrunner {

void Metrics::request(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, status}];
}

void Metrics::run_finished(const std::string& outcome, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++runs_[outcome];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++bucket_counts_[i];
  }
  ++latency_count_;
  latency_sum_ += seconds;
}

void Metrics::queue_wait(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t i = 0; i < kWaitBuckets.size(); ++i) {
    if (seconds <= kWaitBuckets[i]) ++wait_counts_[i];
  }
  ++wait_count_;
  wait_sum_ += seconds;
}

void Metrics::run_started() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++in_flight_;
}

void Metrics::run_ended() {
  std::lock_guard<std::mutex> lock(mutex_);
  --in_flight_;
}

void Metrics::rejected() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++rejected_;
}

void Metrics::session_created() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++sessions_created_;
}

void Metrics::session_ended() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++sessions_ended_;
}

void Metrics::add_keys(const std::vector<std::string>& ids) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& id : ids) {
    auto& k = keys_[id];
    for (const char* limit : {"requests_per_minute", "concurrent_runs", "sessions"})
      k.rejected[limit];
  }
}

void Metrics::key_request(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++keys_[id].requests;
}

void Metrics::key_run(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++keys_[id].runs;
}

void Metrics::key_rejected(const std::string& id, const std::string& limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (id.empty()) {
    ++unauthorized_;
  } else {
    ++keys_[id].rejected[limit];
  }
}

void Metrics::stream_started() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++streams_started_;
  ++streams_active_;
}

void Metrics::stream_ended() {
  std::lock_guard<std::mutex> lock(mutex_);
  --streams_active_;
}

std::string Metrics::render(int pool_ready, int pool_size, int sessions_open,
                            const ConnectionGauges& connections) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;
  out << "# HELP pyrunner_http_requests_total HTTP requests by route and status code.\n"
      << "# TYPE pyrunner_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    out << "pyrunner_http_requests_total{route=\"" << key.first << "\",code=\"" << key.second
        << "\"} " << count << "\n";
  }
  out << "# HELP pyrunner_runs_total Finished runs by outcome status.\n"
      << "# TYPE pyrunner_runs_total counter\n";
  for (const char* status : {"success", "error", "timeout", "memory_exceeded"}) {
    auto it = runs_.find(status);
    out << "pyrunner_runs_total{status=\"" << status << "\"} "
        << (it == runs_.end() ? 0 : it->second) << "\n";
  }
  out << "# HELP pyrunner_run_duration_seconds Wall time of runs, from admission to result.\n"
      << "# TYPE pyrunner_run_duration_seconds histogram\n";
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    out << "pyrunner_run_duration_seconds_bucket{le=\"" << kBuckets[i] << "\"} "
        << bucket_counts_[i] << "\n";
  }
  out << "pyrunner_run_duration_seconds_bucket{le=\"+Inf\"} " << latency_count_ << "\n"
      << "pyrunner_run_duration_seconds_sum " << latency_sum_ << "\n"
      << "pyrunner_run_duration_seconds_count " << latency_count_ << "\n"
      << "# HELP pyrunner_queue_wait_seconds Time from a request's arrival to its run slot.\n"
      << "# TYPE pyrunner_queue_wait_seconds histogram\n";
  for (size_t i = 0; i < kWaitBuckets.size(); ++i) {
    out << "pyrunner_queue_wait_seconds_bucket{le=\"" << kWaitBuckets[i] << "\"} "
        << wait_counts_[i] << "\n";
  }
  out << "pyrunner_queue_wait_seconds_bucket{le=\"+Inf\"} " << wait_count_ << "\n"
      << "pyrunner_queue_wait_seconds_sum " << wait_sum_ << "\n"
      << "pyrunner_queue_wait_seconds_count " << wait_count_ << "\n"
      << "# HELP pyrunner_runs_in_flight Runs executing now.\n"
      << "# TYPE pyrunner_runs_in_flight gauge\n"
      << "pyrunner_runs_in_flight " << in_flight_ << "\n"
      << "# HELP pyrunner_rejected_total Requests refused because of overload (429/503).\n"
      << "# TYPE pyrunner_rejected_total counter\n"
      << "pyrunner_rejected_total " << rejected_ << "\n"
      << "# HELP pyrunner_pool_ready Pre-forked children waiting for code.\n"
      << "# TYPE pyrunner_pool_ready gauge\n"
      << "pyrunner_pool_ready " << pool_ready << "\n"
      << "# HELP pyrunner_pool_size Target number of pre-forked children.\n"
      << "# TYPE pyrunner_pool_size gauge\n"
      << "pyrunner_pool_size " << pool_size << "\n"
      << "# HELP pyrunner_sessions_open Sessions open now.\n"
      << "# TYPE pyrunner_sessions_open gauge\n"
      << "pyrunner_sessions_open " << sessions_open << "\n"
      << "# HELP pyrunner_sessions_created_total Sessions created.\n"
      << "# TYPE pyrunner_sessions_created_total counter\n"
      << "pyrunner_sessions_created_total " << sessions_created_ << "\n"
      << "# HELP pyrunner_sessions_ended_total Sessions ended (deleted, expired, killed).\n"
      << "# TYPE pyrunner_sessions_ended_total counter\n"
      << "pyrunner_sessions_ended_total " << sessions_ended_ << "\n"
      << "# HELP pyrunner_streams_total Runs answered as a stream (NDJSON or SSE).\n"
      << "# TYPE pyrunner_streams_total counter\n"
      << "pyrunner_streams_total " << streams_started_ << "\n"
      << "# HELP pyrunner_streams_active Streamed answers being written now.\n"
      << "# TYPE pyrunner_streams_active gauge\n"
      << "pyrunner_streams_active " << streams_active_ << "\n"
      << "# HELP pyrunner_http_connections Open client connections, by what they are doing.\n"
      << "# TYPE pyrunner_http_connections gauge\n"
      << "pyrunner_http_connections{state=\"receiving\"} " << connections.receiving << "\n"
      << "pyrunner_http_connections{state=\"queued\"} " << connections.queued << "\n"
      << "pyrunner_http_connections{state=\"serving\"} " << connections.serving << "\n"
      << "pyrunner_http_connections{state=\"idle\"} "
      << std::max(
             0, connections.open - connections.receiving - connections.queued - connections.serving)
      << "\n"
      << "# HELP pyrunner_http_threads Worker threads answering requests (started as needed).\n"
      << "# TYPE pyrunner_http_threads gauge\n"
      << "pyrunner_http_threads " << connections.threads << "\n";
  if (keys_.empty()) return out.str();  // a server without API keys
  out << "# HELP pyrunner_key_requests_total Requests by API key id.\n"
      << "# TYPE pyrunner_key_requests_total counter\n";
  for (const auto& [id, k] : keys_)
    out << "pyrunner_key_requests_total{key=\"" << id << "\"} " << k.requests << "\n";
  out << "# HELP pyrunner_key_runs_total Runs by API key id.\n"
      << "# TYPE pyrunner_key_runs_total counter\n";
  for (const auto& [id, k] : keys_)
    out << "pyrunner_key_runs_total{key=\"" << id << "\"} " << k.runs << "\n";
  out << "# HELP pyrunner_key_rejections_total Requests refused: over a key's limit (429), by "
         "key id and limit; without a valid key (401), with no key id.\n"
      << "# TYPE pyrunner_key_rejections_total counter\n";
  for (const auto& [id, k] : keys_) {
    for (const auto& [limit, count] : k.rejected)
      out << "pyrunner_key_rejections_total{key=\"" << id << "\",limit=\"" << limit << "\"} "
          << count << "\n";
  }
  out << "pyrunner_key_rejections_total{limit=\"unauthorized\"} " << unauthorized_ << "\n";
  return out.str();
}

}  // namespace pyrunner
