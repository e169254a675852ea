#include "core/streaming/events.h"

#include <catch2/catch.hpp>
#include <random>

#include "core/util/utf8.h"

using namespace pyrunner::streaming;
using nlohmann::json;

TEST_CASE("Accept picks the stream, or none", "[streaming]") {
  CHECK(format_of("") == Format::kNone);
  CHECK(format_of("*/*") == Format::kNone);
  CHECK(format_of("application/json") == Format::kNone);
  CHECK(format_of("application/x-ndjson") == Format::kNdjson);
  CHECK(format_of("text/event-stream") == Format::kSse);
  CHECK(format_of("Text/Event-Stream; charset=utf-8") == Format::kSse);
  CHECK(format_of("application/json, application/x-ndjson;q=0.9") == Format::kNdjson);
  CHECK(format_of("text/event-stream , application/x-ndjson") == Format::kSse);
  CHECK(format_of("application/x-ndjson;q=0, text/event-stream;q=0.5") == Format::kSse);
  CHECK(format_of("application/x-ndjson; q=0.0") == Format::kNone);
  CHECK(format_of("application/x-ndjsonx") == Format::kNone);
  CHECK(std::string(content_type(Format::kNdjson)) == "application/x-ndjson");
  CHECK(std::string(content_type(Format::kSse)) == "text/event-stream");
}

TEST_CASE("events are framed as NDJSON lines and SSE messages", "[streaming]") {
  const std::string event = text_event("stdout", "a\nb\"");
  CHECK(event == R"({"type":"stdout","text":"a\nb\""})");
  CHECK(frame(Format::kNdjson, "stdout", event) == event + "\n");
  CHECK(frame(Format::kSse, "stdout", event) == "event: stdout\ndata: " + event + "\n\n");
  CHECK(result_event(R"({"status":"success"})") ==
        R"({"type":"result","result":{"status":"success"}})");
  CHECK(json::parse(error_event(503, "server shutting down")) ==
        json{{"type", "error"}, {"status", 503}, {"detail", "server shutting down"}});
  CHECK(json::parse(text_event("stderr", "\xff")) ==
        json{{"type", "stderr"}, {"text", "\xEF\xBF\xBD"}});
}

TEST_CASE("text events split only between characters: together they are the sanitized whole",
          "[streaming]") {
  // Valid characters of every length, and the invalid sequences sanitize_utf8 replaces.
  const std::string corpus =
      "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z\xff\xc0\x80\xed\xa0\x80\xe2\x82"
      "x\xf4\x90\x80\x80\xe0\xa0\x80\xf0\x90\x80\x80\xc2\x80\xe2\x28\xa1\x80\xbf";
  std::mt19937 rng(17);
  for (int round = 0; round < 2000; ++round) {
    std::string whole;
    const int pieces = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < pieces; ++i) {
      const size_t from = rng() % corpus.size();
      whole += corpus.substr(from, rng() % (corpus.size() - from + 1));
    }
    TextSplitter splitter;
    std::string joined;
    for (size_t at = 0; at < whole.size();) {
      const size_t n = std::min(whole.size() - at, static_cast<size_t>(1 + rng() % 5));
      const std::string text = splitter.push(std::string_view(whole).substr(at, n));
      CHECK(pyrunner::is_valid_utf8(text));
      joined += text;
      at += n;
    }
    joined += splitter.flush();
    INFO("round " << round);
    REQUIRE(joined == pyrunner::sanitize_utf8(whole));
  }
}

TEST_CASE("a character cut between two reads arrives whole in the second event", "[streaming]") {
  TextSplitter splitter;
  CHECK(splitter.push("x\xe2\x82") == "x");
  CHECK(splitter.push("\xac!") == "\xe2\x82\xac!");
  CHECK(splitter.push("\xf0\x9f") == "");
  CHECK(splitter.flush() == "\xEF\xBF\xBD\xEF\xBF\xBD");  // the output ended inside it
  CHECK(splitter.flush() == "");
}
