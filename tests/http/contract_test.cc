// The request contract of the original design, field by field, over HTTP (POST /run) and
// through `pyrunner run`: one table, both faces, the default config (its ranges are the
// original's: timeout 1..300 s, memory_limit 64..2048 MB, code 1 MiB, stdin 8 MiB).

#include <catch2/catch.hpp>

#include "support/harness.h"

using namespace pyrunner::testing;
using nlohmann::json;

namespace {

constexpr long kMaxCode = 1 << 20;
constexpr long kMaxStdin = 8 << 20;
constexpr const char* kWhitespace = "code: must not be empty (it is only whitespace)";

// A row: the body of POST /run and what must come back. For 200, `expect` is a subset of the
// result (status, error, stdout); for 400 and 422 it is the detail (400: its prefix, the
// parser's message follows).
struct Row {
  std::string rule;
  json body;  // a JSON string value here means "send this text as the body"
  int http;
  json expect;
};

json ok(const std::string& out) { return {{"status", "success"}, {"stdout", out}}; }

std::vector<Row> contract() {
  const std::string big_code = "print(1)\n#" + std::string(kMaxCode - 10, 'x');
  const std::string big_stdin(kMaxStdin, 'i');
  const char* echo_stdin = "import sys\nprint(repr(sys.stdin.read()))";
  const char* sleep = "import time\ntime.sleep(30)";
  // Fails at once under RLIMIT_DATA: which limit applied is in the error text.
  const char* big_alloc = "x = bytearray(600 << 20)";
  auto timed_out = [](int s) {
    return json{{"status", "timeout"},
                {"error", "Execution timed out after " + std::to_string(s) + " s"}};
  };
  auto over_memory = [](int mb) {
    return json{{"status", "memory_exceeded"},
                {"error", "Memory limit of " + std::to_string(mb) + " MB exceeded"}};
  };
  return {
      // body
      {"a body that is not JSON is 400", "{not json", 400, "body: invalid JSON: "},
      {"an empty body is 400", "", 400, "body: invalid JSON: "},
      {"an array is not an object", json::array({1, 2}), 422, "body: must be a JSON object"},
      {"a string is not an object", "\"print(1)\"", 422, "body: must be a JSON object"},
      {"unknown fields are ignored",
       {{"code", "print(1)"}, {"language", "python"}},
       200,
       ok("1\n")},
      // code
      {"code absent", json::object(), 422, "code: field required"},
      {"code null", {{"code", nullptr}}, 422, "code: field required"},
      {"code a number", {{"code", 5}}, 422, "code: must be a string"},
      {"code a boolean", {{"code", true}}, 422, "code: must be a string"},
      {"code a list", {{"code", json::array({"print(1)"})}}, 422, "code: must be a string"},
      {"code an object", {{"code", json::object()}}, 422, "code: must be a string"},
      {"code empty", {{"code", ""}}, 422, "code: must not be empty"},
      {"code only spaces", {{"code", "   "}}, 422, kWhitespace},
      {"code only newlines and tabs", {{"code", "\n\t\r\n  \f\v"}}, 422, kWhitespace},
      {"code only Unicode spaces (Python's strip)",
       {{"code", "\u00a0\u3000\u2028"}},
       422,
       kWhitespace},
      {"code only a comment is code", {{"code", "# nothing to do"}}, 200, ok("")},
      {"code with a NUL",
       {{"code", std::string("print(1)\0", 9)}},
       422,
       "code: must not contain NUL bytes"},
      {"code of exactly max_code_bytes", {{"code", big_code}}, 200, ok("1\n")},
      {"code one byte over",
       {{"code", big_code + "x"}},
       422,
       "code: must be at most 1048576 bytes (got 1048577)"},
      {"code size counts bytes, not characters",
       {{"code", "#" +
                     [] {
                       std::string s;
                       for (long i = 0; i < kMaxCode / 2; ++i) s += "\u03c0";  // 2 bytes each
                       return s;
                     }()}},
       422,
       "code: must be at most 1048576 bytes (got 1048577)"},
      // timeout
      {"timeout absent is the default", {{"code", "print(1)"}}, 200, ok("1\n")},
      {"timeout null is the default", {{"code", "print(1)"}, {"timeout", nullptr}}, 200, ok("1\n")},
      {"timeout 1 applies", {{"code", sleep}, {"timeout", 1}}, 200, timed_out(1)},
      {"timeout 1.0 is 1", {{"code", sleep}, {"timeout", 1.0}}, 200, timed_out(1)},
      {"timeout 300 is the maximum", {{"code", "print(1)"}, {"timeout", 300}}, 200, ok("1\n")},
      {"timeout 0",
       {{"code", "print(1)"}, {"timeout", 0}},
       422,
       "timeout: must be between 1 and 300 (got 0)"},
      {"timeout negative",
       {{"code", "print(1)"}, {"timeout", -5}},
       422,
       "timeout: must be between 1 and 300 (got -5)"},
      {"timeout 301",
       {{"code", "print(1)"}, {"timeout", 301}},
       422,
       "timeout: must be between 1 and 300 (got 301)"},
      {"timeout beyond any int",
       {{"code", "print(1)"}, {"timeout", 10000000000000LL}},
       422,
       "timeout: must be between 1 and 300 (got 10000000000000)"},
      {"timeout 1e20",
       {{"code", "print(1)"}, {"timeout", 1e20}},
       422,
       "timeout: must be between 1 and 300 (got 1e+20)"},
      {"timeout 2.5", {{"code", "print(1)"}, {"timeout", 2.5}}, 422, "timeout: must be an integer"},
      {"timeout a string",
       {{"code", "print(1)"}, {"timeout", "5"}},
       422,
       "timeout: must be an integer"},
      {"timeout true",
       {{"code", "print(1)"}, {"timeout", true}},
       422,
       "timeout: must be an integer"},
      {"timeout false",
       {{"code", "print(1)"}, {"timeout", false}},
       422,
       "timeout: must be an integer"},
      {"timeout a list",
       {{"code", "print(1)"}, {"timeout", json::array({5})}},
       422,
       "timeout: must be an integer"},
      // memory_limit
      {"memory_limit absent is the default (512)", {{"code", big_alloc}}, 200, over_memory(512)},
      {"memory_limit null is the default",
       {{"code", big_alloc}, {"memory_limit", nullptr}},
       200,
       over_memory(512)},
      {"memory_limit 64 is the minimum",
       {{"code", big_alloc}, {"memory_limit", 64}},
       200,
       over_memory(64)},
      {"memory_limit 64.0 is 64",
       {{"code", big_alloc}, {"memory_limit", 64.0}},
       200,
       over_memory(64)},
      {"memory_limit 2048 is the maximum",
       {{"code", "print(1)"}, {"memory_limit", 2048}},
       200,
       ok("1\n")},
      {"memory_limit 63",
       {{"code", "print(1)"}, {"memory_limit", 63}},
       422,
       "memory_limit: must be between 64 and 2048 (got 63)"},
      {"memory_limit 2049",
       {{"code", "print(1)"}, {"memory_limit", 2049}},
       422,
       "memory_limit: must be between 64 and 2048 (got 2049)"},
      {"memory_limit 128.5",
       {{"code", "print(1)"}, {"memory_limit", 128.5}},
       422,
       "memory_limit: must be an integer"},
      {"memory_limit a string",
       {{"code", "print(1)"}, {"memory_limit", "128"}},
       422,
       "memory_limit: must be an integer"},
      {"memory_limit true",
       {{"code", "print(1)"}, {"memory_limit", true}},
       422,
       "memory_limit: must be an integer"},
      {"memory_limit an object",
       {{"code", "print(1)"}, {"memory_limit", json::object()}},
       422,
       "memory_limit: must be an integer"},
      // stdin
      {"stdin absent is empty", {{"code", echo_stdin}}, 200, ok("''\n")},
      {"stdin null is empty", {{"code", echo_stdin}, {"stdin", nullptr}}, 200, ok("''\n")},
      {"stdin is fed", {{"code", echo_stdin}, {"stdin", "a b\nπ\n"}}, 200, ok("'a b\\nπ\\n'\n")},
      {"stdin a number", {{"code", "print(1)"}, {"stdin", 3}}, 422, "stdin: must be a string"},
      {"stdin a list",
       {{"code", "print(1)"}, {"stdin", json::array({"a"})}},
       422,
       "stdin: must be a string"},
      {"stdin of exactly max_stdin_bytes",
       {{"code", "import sys\nprint(len(sys.stdin.read()))"}, {"stdin", big_stdin}},
       200,
       ok(std::to_string(kMaxStdin) + "\n")},
      {"stdin one byte over",
       {{"code", "print(1)"}, {"stdin", big_stdin + "i"}},
       422,
       "stdin: must be at most 8388608 bytes (got 8388609)"},
  };
}

// What `pyrunner run` is given for a row: the code on stdin, the limits as flags (a flag's
// text is the JSON value's text), stdin as a file. Rows whose values have no command-line
// form (a body that is not an object, code or stdin not a string, a limit given as a string,
// list or object) are HTTP-only.
struct CliForm {
  std::string code;
  std::vector<std::string> flags;
  std::optional<std::string> stdin_text;
};

std::optional<CliForm> cli_form(const Row& row) {
  if (!row.body.is_object() || !row.body.contains("code") || !row.body["code"].is_string())
    return std::nullopt;
  CliForm form{row.body["code"], {}, std::nullopt};
  for (const auto& [field, flag] :
       {std::pair{"timeout", "--timeout"}, std::pair{"memory_limit", "--memory-limit"}}) {
    if (!row.body.contains(field) || row.body[field].is_null()) continue;
    const json& v = row.body[field];
    if (!v.is_number() && !v.is_boolean()) return std::nullopt;
    form.flags.insert(form.flags.end(), {flag, v.dump()});
  }
  if (row.body.contains("stdin") && !row.body["stdin"].is_null()) {
    if (!row.body["stdin"].is_string()) return std::nullopt;
    form.stdin_text = row.body["stdin"];
  }
  return form;
}

int exit_code_of(const std::string& status) {
  if (status == "success") return 0;
  if (status == "error") return 1;
  if (status == "timeout") return 2;
  return 3;  // memory_exceeded
}

void check_result(const json& result, const json& expect) {
  REQUIRE(result.is_object());
  for (const auto& [key, value] : expect.items()) {
    INFO(key);
    CHECK(result[key] == value);
  }
}

}  // namespace

TEST_CASE("the original request contract holds over HTTP", "[contract][serve]") {
  TestServer server;
  for (const auto& row : contract()) {
    INFO(row.rule);
    auto text = row.body.is_string() ? row.body.get<std::string>() : row.body.dump();
    auto r = server.post("/run", text);
    CHECK(r.status == row.http);
    if (row.http == 200) {
      check_result(r.json(), row.expect);
    } else {
      auto detail = r.json().value("detail", "");
      if (row.http == 400)
        CHECK(detail.rfind(row.expect.get<std::string>(), 0) == 0);
      else
        CHECK(detail == row.expect.get<std::string>());
    }
  }
}

TEST_CASE("the original request contract holds through pyrunner run", "[contract][cli]") {
  int cli_rows = 0;
  for (const auto& row : contract()) {
    auto form = cli_form(row);
    if (!form) continue;
    ++cli_rows;
    INFO(row.rule);
    std::optional<TempFile> input;
    std::vector<std::string> flags = form->flags;
    if (form->stdin_text) {
      input.emplace(*form->stdin_text, "stdin.txt");
      flags.insert(flags.end(), {"--stdin", input->path()});
    }
    auto run = run_code(form->code, flags);
    if (row.http == 200) {
      CHECK(run.process.exit_code == exit_code_of(row.expect["status"]));
      check_result(run.result, row.expect);
    } else {
      CHECK(run.process.exit_code == 65);
      CHECK(run.process.out.empty());
      CHECK(run.process.err == "pyrunner: " + row.expect.get<std::string>() + "\n");
    }
  }
  // A guard against cli_form() skipping what it should not: of the 53 rows, 16 are HTTP-only.
  CHECK(cli_rows == static_cast<int>(contract().size()) - 16);
}

TEST_CASE("limit flags that are not JSON numbers are refused like the fields", "[contract][cli]") {
  for (const auto& [flag, text, detail] :
       {std::tuple{"--timeout", "abc", "timeout: must be an integer"},
        std::tuple{"--timeout", "", "timeout: must be an integer"},
        std::tuple{"--timeout", "5s", "timeout: must be an integer"},
        std::tuple{"--memory-limit", "0x80", "memory_limit: must be an integer"}}) {
    INFO(flag << " '" << text << "'");
    auto run = run_code("print(1)", {flag, text});
    CHECK(run.process.exit_code == 65);
    CHECK(run.process.err == std::string("pyrunner: ") + detail + "\n");
  }
}
