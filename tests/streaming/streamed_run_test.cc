// respond() with a stand-in for the route's work (the real server's streams are in
// tests/http/stream_test.cc): refusals stay plain answers, events arrive in order, a client
// that does not take the stream cancels the run, SSE sends keep-alives while quiet.

#include "core/streaming/streamed_run.h"

#include <poll.h>

#include <catch2/catch.hpp>
#include <future>

using namespace pyrunner;
using namespace pyrunner::streaming;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// Whether `fd` becomes readable within 30 s (the bound keeps a broken stream from hanging the
// suite; the tests wait for the event, not for the time).
bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 30000) == 1;
}

nlohmann::ordered_json item() {  // as the control channel's reader makes it
  return {
      {"type", "display"}, {"data", {{"text/plain", "<Figure>"}}}, {"metadata", json::object()}};
}

std::string metric_line(const Metrics& m, const std::string& name) {
  const std::string text = m.render(0, 0);
  const auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? "" : text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}

}  // namespace

TEST_CASE("a run refused before it starts is answered plainly, not streamed", "[streaming]") {
  Metrics metrics;
  HttpResponse res;
  respond(
      {Format::kNdjson}, {}, metrics,
      [](const RunWatch& watch, HttpResponse& answer) {
        CHECK(watch.observer != nullptr);
        CHECK(watch.cancel_fd >= 0);
        answer.error(409, "session: busy: one run at a time");
      },
      res);
  CHECK(res.status == 409);
  CHECK(res.content_type == "application/json");
  CHECK_FALSE(res.stream);
  CHECK(json::parse(res.body)["detail"] == "session: busy: one run at a time");
  CHECK(metric_line(metrics, "pyrunner_streams_total") == "pyrunner_streams_total 0");
}

TEST_CASE("a started run streams its events, then the answer as the result event", "[streaming]") {
  Metrics metrics;
  std::string written;
  {
    HttpResponse res;
    respond(
        {Format::kNdjson}, {}, metrics,
        [](const RunWatch& watch, HttpResponse& answer) {
          watch.observer->on_start();
          watch.observer->on_stdout("a\n\xe2\x82");
          watch.observer->on_stderr("oops\n");
          watch.observer->on_stdout("\xac\n");
          watch.observer->on_display(item());
          answer.json(200, R"({"status":"success","stdout":"a\n€\n"})");
        },
        res);
    CHECK(res.status == 200);
    CHECK(res.content_type == "application/x-ndjson");
    REQUIRE(res.stream);
    CHECK(metric_line(metrics, "pyrunner_streams_active") == "pyrunner_streams_active 1");
    res.stream([&](std::string_view chunk) {
      written += chunk;
      return true;
    });
  }
  CHECK(written ==
        "{\"type\":\"stdout\",\"text\":\"a\\n\"}\n"
        "{\"type\":\"stderr\",\"text\":\"oops\\n\"}\n"
        "{\"type\":\"stdout\",\"text\":\"€\\n\"}\n"
        "{\"type\":\"display\",\"data\":{\"text/plain\":\"<Figure>\"},\"metadata\":{}}\n"
        "{\"type\":\"result\",\"result\":{\"status\":\"success\",\"stdout\":\"a\\n€\\n\"}}\n");
  CHECK(metric_line(metrics, "pyrunner_streams_total") == "pyrunner_streams_total 1");
  CHECK(metric_line(metrics, "pyrunner_streams_active") == "pyrunner_streams_active 0");
}

TEST_CASE("a run that started and ended without a result ends with an error event", "[streaming]") {
  Metrics metrics;
  HttpResponse res;
  respond(
      {Format::kSse}, {}, metrics,
      [](const RunWatch& watch, HttpResponse& answer) {
        watch.observer->on_start();
        answer.error(503, "server is shutting down", 1);
      },
      res);
  REQUIRE(res.stream);
  CHECK(res.content_type == "text/event-stream");
  std::string written;
  res.stream([&](std::string_view chunk) {
    written += chunk;
    return true;
  });
  CHECK(written ==
        "event: error\ndata: "
        "{\"type\":\"error\",\"status\":503,\"detail\":\"server is shutting down\"}\n\n");
}

TEST_CASE("a client that does not take an event cancels the run", "[streaming]") {
  Metrics metrics;
  std::promise<bool> cancelled;
  HttpResponse res;
  respond(
      {Format::kNdjson}, {}, metrics,
      [&](const RunWatch& watch, HttpResponse& answer) {
        watch.observer->on_start();
        watch.observer->on_stdout("1\n");
        cancelled.set_value(readable(watch.cancel_fd));  // as the executor's pump polls it
        answer.error(499, "client stopped reading the stream");
      },
      res);
  REQUIRE(res.stream);
  int writes = 0;
  res.stream([&](std::string_view) {
    ++writes;
    return false;  // the client is gone
  });
  CHECK(writes == 1);
  CHECK(cancelled.get_future().get());
}

TEST_CASE("a stream never written cancels its run and waits for it", "[streaming]") {
  Metrics metrics;
  std::atomic<bool> cancelled{false};
  {
    HttpResponse res;
    respond(
        {Format::kNdjson}, {}, metrics,
        [&](const RunWatch& watch, HttpResponse& answer) {
          watch.observer->on_start();
          cancelled = readable(watch.cancel_fd);
          answer.error(499, "client disconnected");
        },
        res);
    REQUIRE(res.stream);
  }  // the answer was never sent (its client was gone): dropped here
  CHECK(cancelled);
  CHECK(metric_line(metrics, "pyrunner_streams_active") == "pyrunner_streams_active 0");
}

TEST_CASE("SSE sends a keep-alive comment while the run is quiet", "[streaming]") {
  Metrics metrics;
  std::promise<void> kept_alive;
  HttpResponse res;
  respond(
      {Format::kSse, 20ms}, {}, metrics,
      [&](const RunWatch& watch, HttpResponse& answer) {
        watch.observer->on_start();
        kept_alive.get_future().wait_for(30s);  // quiet until the client saw one
        answer.json(200, "{}");
      },
      res);
  REQUIRE(res.stream);
  std::string written;
  bool seen = false;
  res.stream([&](std::string_view chunk) {
    written += chunk;
    if (!seen && chunk == ": keep-alive\n\n") {
      seen = true;
      kept_alive.set_value();
    }
    return true;
  });
  CHECK(seen);
  CHECK(written.rfind(": keep-alive\n\n", 0) == 0);
  const std::string last = "event: result\ndata: {\"type\":\"result\",\"result\":{}}\n\n";
  REQUIRE(written.size() > last.size());
  CHECK(written.substr(written.size() - last.size()) == last);
}
