// The parent's reader of the runner's control channel: the record, display items and files,
// and what it does with a hostile program's lines (everything on fd 3 is untrusted).

#include "core/executor/record.h"

#include <catch2/catch.hpp>

using pyrunner::ControlCaps;
using pyrunner::ControlReader;
using pyrunner::parse_record;
using json = nlohmann::ordered_json;

namespace {

constexpr ControlCaps kCaps{1 << 20, 1 << 20, 100};

ControlReader read_all(const std::string& bytes, ControlCaps caps = kCaps) {
  ControlReader reader(caps);
  reader.feed(bytes);
  return reader;
}

}  // namespace

TEST_CASE("the record gives every field", "[executor]") {
  auto r = parse_record(
      R"({"exit_code": 3, "error": "ValueError: bad", "memory_error": true, "time": 0.25,)"
      R"( "results_truncated": true, "files_truncated": true,)"
      R"( "exception": {"name": "ValueError", "value": "bad", "traceback": ["a", "b"]}})");
  CHECK(r.present);
  CHECK(r.exit_code == 3);
  CHECK(r.error == "ValueError: bad");
  CHECK(r.memory_error);
  CHECK(r.time == 0.25);
  CHECK(r.results_truncated);
  CHECK(r.files_truncated);
  CHECK(r.exception == json({{"name", "ValueError"}, {"value", "bad"}, {"traceback", {"a", "b"}}}));
}

TEST_CASE("a record needs its exit code; other fields keep their defaults", "[executor]") {
  auto r = parse_record(R"({"exit_code": 0, "error": null})");
  CHECK(r.present);
  CHECK(r.error.empty());
  CHECK_FALSE(r.memory_error);
  CHECK(r.time == -1);
  CHECK(r.exception.is_null());
  CHECK_FALSE(parse_record("{}").present);
  CHECK_FALSE(parse_record(R"({"exit_code": "one"})").present);
  CHECK_FALSE(parse_record("[1]").present);
  CHECK_FALSE(parse_record(R"({"exit_code": )").present);
  // An exception of the wrong shape is dropped, the record kept.
  auto odd =
      parse_record(R"({"exit_code": 1, "exception": {"name": 1, "value": "", "traceback": []}})");
  CHECK(odd.present);
  CHECK(odd.exception.is_null());
}

TEST_CASE("lines arrive in pieces; only complete ones count, the last record wins", "[executor]") {
  ControlReader reader(kCaps);
  reader.feed("R\nD {\"exit_co");
  CHECK_FALSE(reader.record().present);
  reader.feed("de\": 1}");
  CHECK_FALSE(reader.record().present);  // its '\n' not read yet
  reader.feed("\nD {\"exit_code\": 2}\n");
  CHECK(reader.record().present);
  CHECK(reader.record().exit_code == 2);
  CHECK(read_all("XD {\"exit_code\": 1}\n").record().present == false);  // must start a line
}

TEST_CASE("display items and files are kept in order, well formed", "[executor]") {
  std::vector<json> seen;
  ControlReader reader(kCaps);
  reader.set_display_callback([&](const json& item) { seen.push_back(item); });
  reader.feed(
      R"(M {"type": "display", "data": {"text/plain": "a", "application/json": {"k": 1}}})"
      "\n"
      R"(M {"type": "execute_result", "data": {"text/plain": "b"}, "metadata": {"x": 1}})"
      "\n"
      R"(F {"path": "out/a.txt", "size": 4, "mime": "text/plain", "content": "ZG9uZQ=="})"
      "\n"
      R"(F {"path": "big", "size": 9, "mime": "x/y", "content": null, "omitted": "too large"})"
      "\n");
  REQUIRE(reader.results().size() == 2);
  CHECK(reader.results()[0] ==
        json({{"type", "display"},
              {"data", {{"text/plain", "a"}, {"application/json", {{"k", 1}}}}},
              {"metadata", json::object()}}));
  CHECK(reader.results()[1]["metadata"] == json({{"x", 1}}));
  CHECK(seen.size() == 2);
  REQUIRE(reader.files().size() == 2);
  CHECK(reader.files()[1]["omitted"] == "too large");
  CHECK_FALSE(reader.results_dropped());
  CHECK_FALSE(reader.files_dropped());
}

TEST_CASE("malformed, forged and oversized lines are dropped, never kept", "[executor]") {
  const std::string bad[] = {
      R"(M {"type": "other", "data": {}})",
      R"(M {"type": "display", "data": {"text/plain": 5}})",
      R"(M {"type": "display"})",
      "M " + std::string(100, '['),
      R"(F {"path": "../../etc/passwd", "size": 1, "mime": "t", "content": "eA=="})",
      R"(F {"path": "/abs", "size": 1, "mime": "t", "content": "eA=="})",
      R"(F {"path": "a", "size": -1, "mime": "t", "content": null})",
  };
  for (const auto& line : bad) {
    auto reader = read_all(line + "\n");
    INFO(line);
    CHECK(reader.results().empty());
    CHECK(reader.files().empty());
    CHECK((reader.results_dropped() || reader.files_dropped()));
  }
  // Invalid UTF-8 is replaced, not a reason to drop the item.
  auto utf8 = read_all("M {\"type\": \"display\", \"data\": {\"text/plain\": \"\xff\"}}\n");
  REQUIRE(utf8.results().size() == 1);
  CHECK(utf8.results()[0]["data"]["text/plain"] == "\xEF\xBF\xBD");
  // A line longer than any message is skipped whole, and the next line still counts.
  ControlReader reader(ControlCaps{1000, 1000, 100});
  reader.feed("M " + std::string(3 << 20, 'z'));
  reader.feed(std::string(1 << 20, 'z') + "\nD {\"exit_code\": 7}\n");
  CHECK(reader.results().empty());
  CHECK(reader.results_dropped());
  CHECK(reader.record().exit_code == 7);
}

TEST_CASE("the caps bound what is kept", "[executor]") {
  const std::string item = R"(M {"type": "display", "data": {"text/plain": "0123456789"}})";
  ControlReader reader(ControlCaps{item.size() * 2 + 1, 1 << 20, 2});
  for (int i = 0; i < 5; ++i) reader.feed(item + "\n");
  CHECK(reader.results().size() == 2);
  CHECK(reader.results_dropped());
  for (int i = 0; i < 5; ++i)
    reader.feed("F {\"path\": \"f" + std::to_string(i) +
                "\", \"size\": 0, \"mime\": \"t\", \"content\": \"\"}\n");
  CHECK(reader.files().size() == 2);
  CHECK(reader.files_dropped());
}

TEST_CASE("JSON depth is checked outside strings only", "[executor]") {
  CHECK(pyrunner::json_depth_within("[[[]]]", 3));
  CHECK_FALSE(pyrunner::json_depth_within("[[[[]]]]", 3));
  CHECK(pyrunner::json_depth_within(R"(["[[[[[[", "\"[[[[["])", 1));
}
