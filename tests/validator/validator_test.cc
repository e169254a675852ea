#include "core/validator/validator.h"

#include <catch2/catch.hpp>

using pyrunner::RequestValidator;
using pyrunner::RunRequest;
using pyrunner::ValidationError;

namespace {

const pyrunner::LimitsConfig kLimits;

ValidationError error_of(const std::string& body) {
  RequestValidator v(kLimits);
  auto r = v.from_json(body);
  REQUIRE(std::holds_alternative<ValidationError>(r));
  return std::get<ValidationError>(r);
}

RunRequest request_of(const std::string& body) {
  RequestValidator v(kLimits);
  auto r = v.from_json(body);
  REQUIRE(std::holds_alternative<RunRequest>(r));
  return std::get<RunRequest>(r);
}

}  // namespace

TEST_CASE("a valid body gets the config's defaults", "[validator]") {
  auto r = request_of(R"J({"code": "print(1)"})J");
  CHECK(r.code == "print(1)");
  CHECK(r.timeout_s == 30);
  CHECK(r.memory_mb == 512);
  CHECK(r.stdin_data.empty());
}

TEST_CASE("explicit limits, stdin, unknown fields ignored", "[validator]") {
  auto r = request_of(
      R"J({"code": "x", "timeout": 5, "memory_limit": 64, "stdin": "a\nb", "language": "py"})J");
  CHECK(r.timeout_s == 5);
  CHECK(r.memory_mb == 64);
  CHECK(r.stdin_data == "a\nb");
  CHECK(request_of(R"J({"code": "x", "timeout": 2.0})J").timeout_s == 2);
  CHECK(request_of(R"J({"code": "x", "timeout": null})J").timeout_s == 30);
}

TEST_CASE("unparseable bodies are 400", "[validator]") {
  auto e = error_of("{not json");
  CHECK(e.http_status == 400);
  CHECK(e.detail.rfind("body: invalid JSON: ", 0) == 0);
  CHECK(error_of("{\"code\": \"\xff\"}").http_status == 400);  // invalid UTF-8 inside JSON
}

TEST_CASE("invalid fields are 422 with the field named", "[validator]") {
  struct Case {
    const char* body;
    const char* detail;
  };
  const Case cases[] = {
      {R"J([1, 2])J", "body: must be a JSON object"},
      {R"J({})J", "code: field required"},
      {R"J({"code": null})J", "code: field required"},
      {R"J({"code": 5})J", "code: must be a string"},
      {R"J({"code": ""})J", "code: must not be empty"},
      {R"J({"code": "   "})J", "code: must not be empty (it is only whitespace)"},
      {R"J({"code": "\n\t\r\u000b\u000c \n"})J", "code: must not be empty (it is only whitespace)"},
      // Python's str.strip() removes these too, and the original service tested code.strip().
      {R"J({"code": "\u00a0\u2003\u3000\u2028\u0085"})J",
       "code: must not be empty (it is only whitespace)"},
      {R"J({"code": "x", "timeout": "5"})J", "timeout: must be an integer"},
      {R"J({"code": "x", "timeout": 2.5})J", "timeout: must be an integer"},
      {R"J({"code": "x", "timeout": true})J", "timeout: must be an integer"},
      {R"J({"code": "x", "timeout": 0})J", "timeout: must be between 1 and 300 (got 0)"},
      {R"J({"code": "x", "timeout": 301})J", "timeout: must be between 1 and 300 (got 301)"},
      {R"J({"code": "x", "memory_limit": 63})J",
       "memory_limit: must be between 64 and 2048 (got 63)"},
      {R"J({"code": "x", "memory_limit": 2049})J",
       "memory_limit: must be between 64 and 2048 (got 2049)"},
      {R"J({"code": "x", "memory_limit": 1e20})J",
       "memory_limit: must be between 64 and 2048 (got 1e+20)"},
      {R"J({"code": "x", "timeout": 10000000000000})J",
       "timeout: must be between 1 and 300 (got 10000000000000)"},
      {R"J({"code": "x", "timeout": -1})J", "timeout: must be between 1 and 300 (got -1)"},
      {R"J({"code": "x", "stdin": 3})J", "stdin: must be a string"},
      {R"J({"code": "a\u0000b"})J", "code: must not contain NUL bytes"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto e = error_of(c.body);
    CHECK(e.http_status == 422);
    CHECK(e.detail == c.detail);
  }
}

TEST_CASE("code that only looks blank is run", "[validator]") {
  // A comment, a zero-width space (not whitespace to Python) and a form feed before code.
  for (const char* body : {R"J({"code": "# nothing"})J", R"J({"code": "\u200b"})J",
                           R"J({"code": "\f print(1)"})J", R"J({"code": " \u00e9"})J"}) {
    INFO(body);
    request_of(body);
  }
}

TEST_CASE("code size is limited", "[validator]") {
  RequestValidator v(kLimits);
  RunRequest r = v.with_defaults(std::string(kLimits.max_code_bytes, 'x'));
  CHECK_FALSE(v.check(r).has_value());
  r.code.push_back('x');
  auto e = v.check(r);
  REQUIRE(e.has_value());
  CHECK(e->http_status == 422);
  CHECK(e->detail == "code: must be at most 1048576 bytes (got 1048577)");
}

TEST_CASE("code must be valid UTF-8", "[validator]") {
  RequestValidator v(kLimits);
  auto e = v.check(v.with_defaults("print('\xc3\x28')"));
  REQUIRE(e.has_value());
  CHECK(e->detail == "code: must be valid UTF-8");
}
