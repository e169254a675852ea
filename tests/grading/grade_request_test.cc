// POST /grade and /batch bodies: what is accepted, and the exact error for what is not.

#include <catch2/catch.hpp>

#include "core/grading/batch.h"
#include "core/grading/grade.h"

namespace {

using namespace pyrunner;
using namespace pyrunner::grading;
using nlohmann::json;

std::string grade_error(const json& body, int max_tests = 5) {
  static const LimitsConfig limits = [] {
    LimitsConfig l;
    l.max_output_bytes = 100;
    l.max_stdin_bytes = 50;
    return l;
  }();
  RequestValidator validator(limits);
  auto parsed = grade_from_json(body, validator, limits, max_tests);
  if (auto* e = std::get_if<ValidationError>(&parsed)) {
    CHECK(e->http_status == 422);
    return e->detail;
  }
  return "";
}

json with_tests(json tests) { return {{"code", "print(1)"}, {"tests", tests}}; }

}  // namespace

TEST_CASE("a grade request: tests, limits, compare and the files for every test", "[grading]") {
  LimitsConfig limits;
  RequestValidator validator(limits);
  json body = {
      {"code", "print(input())"},
      {"timeout", 5},
      {"memory_limit", 128},
      {"compare", "numbers"},
      {"tolerance", 0.01},
      {"stop_on_failure", true},
      {"files", {{{"path", "data.txt"}, {"content", "x"}}}},
      {"tests",
       {{{"stdin", "1\n"}, {"expected_output", "1\n"}},
        {{"name", "slow"}, {"expected_output", ""}, {"timeout", 2}, {"memory_limit", 64}}}}};
  auto parsed = grade_from_json(body, validator, limits, 10);
  REQUIRE(std::holds_alternative<GradeRequest>(parsed));
  const auto& g = std::get<GradeRequest>(parsed);
  CHECK(g.mode == CompareMode::kNumbers);
  CHECK(g.tolerance == 0.01);
  CHECK(g.stop_on_failure);
  REQUIRE(g.tests.size() == 2);
  CHECK(g.tests[0].name == "1");
  CHECK(g.tests[1].name == "slow");
  auto first = test_request(g, 0), second = test_request(g, 1);
  CHECK(first.stdin_data == "1\n");
  CHECK(first.timeout_s == 5);
  CHECK(first.memory_mb == 128);
  CHECK(second.timeout_s == 2);
  CHECK(second.memory_mb == 64);
  CHECK(second.stdin_data.empty());
  REQUIRE(second.files.size() == 1);
  CHECK(second.files[0].path == "data.txt");
}

TEST_CASE("malformed grade requests name the field", "[grading]") {
  CHECK(grade_error({{"code", "print(1)"}}) == "tests: field required");
  CHECK(grade_error(with_tests("x")) == "tests: must be a list");
  CHECK(grade_error(with_tests(json::array())) == "tests: must not be empty");
  CHECK(grade_error(with_tests({{{"expected_output", "1"}}, {{"stdin", "2"}}})) ==
        "tests[1].expected_output: field required");
  CHECK(grade_error(with_tests({{{"expected_output", 3}}})) ==
        "tests[0].expected_output: must be a string");
  CHECK(grade_error(with_tests({7})) == "tests[0]: must be an object");
  CHECK(grade_error(with_tests({{{"expected_output", "1"}, {"name", 1}}})) ==
        "tests[0].name: must be a string");
  CHECK(grade_error(with_tests({{{"expected_output", "1"}, {"stdin", 1}}})) ==
        "tests[0].stdin: must be a string");
  CHECK(grade_error(with_tests({{{"expected_output", "1"}, {"stdin", std::string(51, 'x')}}})) ==
        "tests[0].stdin: must be at most 50 bytes (got 51)");
  CHECK(grade_error(with_tests({{{"expected_output", "1"}, {"timeout", 0}}})) ==
        "tests[0].timeout: must be between 1 and 300 (got 0)");
  CHECK(grade_error(with_tests({{{"expected_output", "1"}, {"memory_limit", "big"}}})) ==
        "tests[0].memory_limit: must be an integer");
  CHECK(grade_error(with_tests({{{"expected_output", std::string(101, 'x')}}})) ==
        "tests[0].expected_output: must be at most 100 bytes, the output cap "
        "limits.max_output_bytes (got 101)");
  json six = json::array();
  for (int i = 0; i < 6; ++i) six.push_back({{"expected_output", "1"}});
  CHECK(grade_error(with_tests(six)) == "tests: at most 5 tests, server.max_tests (got 6)");
  json body = with_tests({{{"expected_output", "1"}}});
  body["compare"] = "fuzzy";
  CHECK(grade_error(body) ==
        "compare: must be 'trim', 'exact', 'tokens' or 'numbers' (got 'fuzzy')");
  body["compare"] = "numbers";
  body["tolerance"] = -1;
  CHECK(grade_error(body) == "tolerance: must be a number >= 0");
  body["tolerance"] = true;
  CHECK(grade_error(body) == "tolerance: must be a number >= 0");
  body.erase("tolerance");
  body["stop_on_failure"] = "yes";
  CHECK(grade_error(body) == "stop_on_failure: must be a boolean");
  CHECK(grade_error({{"tests", {{{"expected_output", "1"}}}}}) == "code: field required");
}

TEST_CASE("a batch: invalid items keep their own detail", "[grading]") {
  LimitsConfig limits;
  RequestValidator validator(limits);
  json body = {{"runs",
                {{{"code", "print(1)"}},
                 {{"code", ""}},
                 {{"code", "print(2)"}, {"expected_output", "2"}, {"compare", "nope"}},
                 {{"code", "print(3)"}, {"expected_output", "3"}}}}};
  auto parsed = batch_from_json(body, validator, limits, 4);
  REQUIRE(std::holds_alternative<std::vector<BatchItem>>(parsed));
  const auto& items = std::get<std::vector<BatchItem>>(parsed);
  REQUIRE(items.size() == 4);
  CHECK(items[0].request);
  CHECK_FALSE(items[0].expectation);
  CHECK_FALSE(items[1].request);
  CHECK(items[1].detail == "code: must not be empty");
  CHECK_FALSE(items[2].request);
  CHECK(items[2].detail.rfind("compare: must be", 0) == 0);
  REQUIRE(items[3].expectation);
  CHECK(items[3].expectation->output == "3");

  const auto error = [&](const json& b) {
    auto p = batch_from_json(b, validator, limits, 2);
    REQUIRE(std::holds_alternative<ValidationError>(p));
    return std::get<ValidationError>(p).detail;
  };
  CHECK(error(json::object()) == "runs: field required");
  CHECK(error({{"runs", {{"code", "x"}}}}) == "runs: must be a list");
  CHECK(error({{"runs", json::array()}}) == "runs: must not be empty");
  CHECK(error({{"runs", {{{"code", "1"}}, {{"code", "2"}}, {{"code", "3"}}}}}) ==
        "runs: at most 2 runs, server.max_batch (got 3)");
  CHECK(error(json::array()) == "body: must be a JSON object");
}
