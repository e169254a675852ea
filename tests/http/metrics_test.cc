// The Prometheus text of GET /metrics, rendered from a Metrics object fed by hand: every
// family typed and helped, counters by label, a cumulative histogram.

#include "core/http/metrics.h"

#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <sstream>

namespace {

using pyrunner::Metrics;

// Every sample line "name{labels} value" -> value; the families announced by # TYPE lines.
struct Parsed {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;  // family -> counter | gauge | histogram
  std::vector<std::string> bad_lines;
};

Parsed parse(const std::string& text) {
  static const std::regex sample(R"(^([a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})?) (\S+)$)");
  static const std::regex type(R"(^# TYPE ([a-z_]+) (counter|gauge|histogram)$)");
  static const std::regex help(R"(^# HELP [a-z_]+ \S.*$)");
  Parsed p;
  std::istringstream in(text);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, sample)) {
      p.samples[m[1]] = std::stod(m[4]);
    } else if (std::regex_match(line, m, type)) {
      p.types[m[1]] = m[2];
    } else if (!std::regex_match(line, help)) {
      p.bad_lines.push_back(line);
    }
  }
  return p;
}

}  // namespace

TEST_CASE("metrics render as Prometheus text, every family typed", "[metrics]") {
  Metrics m;
  auto p = parse(m.render(3, 4));
  CHECK(p.bad_lines.empty());
  CHECK(p.types ==
        std::map<std::string, std::string>{{"pyrunner_http_requests_total", "counter"},
                                           {"pyrunner_runs_total", "counter"},
                                           {"pyrunner_run_duration_seconds", "histogram"},
                                           {"pyrunner_runs_in_flight", "gauge"},
                                           {"pyrunner_rejected_total", "counter"},
                                           {"pyrunner_pool_ready", "gauge"},
                                           {"pyrunner_pool_size", "gauge"},
                                           {"pyrunner_sessions_open", "gauge"},
                                           {"pyrunner_sessions_created_total", "counter"},
                                           {"pyrunner_sessions_ended_total", "counter"},
                                           {"pyrunner_streams_total", "counter"},
                                           {"pyrunner_streams_active", "gauge"},
                                           {"pyrunner_queue_wait_seconds", "histogram"},
                                           {"pyrunner_http_connections", "gauge"},
                                           {"pyrunner_http_threads", "gauge"}});
  // Every outcome is there from the start, at 0, so rate() works before the first run.
  for (const char* status : {"success", "error", "timeout", "memory_exceeded"}) {
    INFO(status);
    CHECK(p.samples.at(std::string("pyrunner_runs_total{status=\"") + status + "\"}") == 0);
  }
  CHECK(p.samples.at("pyrunner_pool_ready") == 3);
  CHECK(p.samples.at("pyrunner_pool_size") == 4);
  CHECK(p.samples.at("pyrunner_runs_in_flight") == 0);
  CHECK(p.samples.at("pyrunner_rejected_total") == 0);
  CHECK(p.samples.at("pyrunner_run_duration_seconds_count") == 0);
  CHECK(p.samples.at("pyrunner_streams_total") == 0);
  CHECK(p.samples.at("pyrunner_streams_active") == 0);
}

TEST_CASE("streams are counted, and the active ones gauged", "[metrics]") {
  Metrics m;
  m.stream_started();
  m.stream_started();
  m.stream_ended();
  auto p = parse(m.render(0, 0));
  CHECK(p.samples.at("pyrunner_streams_total") == 2);
  CHECK(p.samples.at("pyrunner_streams_active") == 1);
}

TEST_CASE("requests are counted by route and status code", "[metrics]") {
  Metrics m;
  m.request("/run", 200);
  m.request("/run", 200);
  m.request("/run", 429);
  m.request("/", 200);
  auto p = parse(m.render(0, 0));
  CHECK(p.bad_lines.empty());
  CHECK(p.samples.at("pyrunner_http_requests_total{route=\"/run\",code=\"200\"}") == 2);
  CHECK(p.samples.at("pyrunner_http_requests_total{route=\"/run\",code=\"429\"}") == 1);
  CHECK(p.samples.at("pyrunner_http_requests_total{route=\"/\",code=\"200\"}") == 1);
  CHECK(p.samples.count("pyrunner_http_requests_total{route=\"/\",code=\"429\"}") == 0);
}

TEST_CASE("run durations fill a cumulative histogram", "[metrics]") {
  Metrics m;
  m.run_finished("success", 0.003);  // first bucket it fits: 0.005
  m.run_finished("error", 0.2);      // 0.25
  m.run_finished("timeout", 60);     // only +Inf
  auto p = parse(m.render(0, 0));
  CHECK(p.bad_lines.empty());
  const std::map<std::string, double> expected = {
      {"0.001", 0}, {"0.002", 0}, {"0.005", 1}, {"0.01", 1}, {"0.025", 1}, {"0.05", 1}, {"0.1", 1},
      {"0.25", 2},  {"0.5", 2},   {"1", 2},     {"5", 2},    {"30", 2},    {"+Inf", 3}};
  for (const auto& [le, count] : expected) {
    INFO("le=" << le);
    CHECK(p.samples.at("pyrunner_run_duration_seconds_bucket{le=\"" + le + "\"}") == count);
  }
  CHECK(p.samples.at("pyrunner_run_duration_seconds_count") == 3);
  CHECK(p.samples.at("pyrunner_run_duration_seconds_sum") == Approx(60.203));
  CHECK(p.samples.at("pyrunner_runs_total{status=\"success\"}") == 1);
  CHECK(p.samples.at("pyrunner_runs_total{status=\"error\"}") == 1);
  CHECK(p.samples.at("pyrunner_runs_total{status=\"timeout\"}") == 1);
  CHECK(p.samples.at("pyrunner_runs_total{status=\"memory_exceeded\"}") == 0);
}

TEST_CASE("waits for a run slot fill their own histogram", "[metrics]") {
  Metrics m;
  m.queue_wait(0.0005);
  m.queue_wait(3);
  auto p = parse(m.render(0, 0));
  CHECK(p.bad_lines.empty());
  CHECK(p.samples.at("pyrunner_queue_wait_seconds_bucket{le=\"0.001\"}") == 1);
  CHECK(p.samples.at("pyrunner_queue_wait_seconds_bucket{le=\"2.5\"}") == 1);
  CHECK(p.samples.at("pyrunner_queue_wait_seconds_bucket{le=\"5\"}") == 2);
  CHECK(p.samples.at("pyrunner_queue_wait_seconds_count") == 2);
}

TEST_CASE("connections by state and worker threads", "[metrics]") {
  Metrics m;
  auto p = parse(m.render(0, 0, 0, {10, 3, 2, 1, 5}));
  CHECK(p.bad_lines.empty());
  CHECK(p.samples.at("pyrunner_http_connections{state=\"receiving\"}") == 3);
  CHECK(p.samples.at("pyrunner_http_connections{state=\"queued\"}") == 2);
  CHECK(p.samples.at("pyrunner_http_connections{state=\"serving\"}") == 1);
  CHECK(p.samples.at("pyrunner_http_connections{state=\"idle\"}") == 4);
  CHECK(p.samples.at("pyrunner_http_threads") == 5);
}

TEST_CASE("in-flight runs and rejections", "[metrics]") {
  Metrics m;
  m.run_started();
  m.run_started();
  m.run_ended();
  m.rejected();
  m.rejected();
  m.rejected();
  auto p = parse(m.render(0, 0));
  CHECK(p.samples.at("pyrunner_runs_in_flight") == 1);
  CHECK(p.samples.at("pyrunner_rejected_total") == 3);
}
