#include "core/grading/grade.h"

#include <algorithm>
#include <mutex>

#include "core/grading/parallel.h"
#include "core/util/utf8.h"

namespace pyrunner::grading {
namespace {

using nlohmann::ordered_json;

ValidationError invalid(const std::string& field, const std::string& reason) {
  return {422, field + ": " + reason};
}

// One field of a test's entry: its name, its schema and how it is encoded. The run's own
// fields are taken from result_fields(), so they read as in POST /run.
struct TestField {
  std::string name;
  ordered_json schema;
  std::function<ordered_json(const TestCase&, const TestReport&)> encode;
};

TestField from_result(const char* name) {
  for (const auto& field : result_fields()) {
    if (std::string_view(field.name) == name) {
      auto encode = field.encode;
      return {name, field.schema,
              [encode](const TestCase&, const TestReport& r) { return encode(r.result); }};
    }
  }
  return {name, {}, [](const TestCase&, const TestReport&) { return ordered_json(nullptr); }};
}

const std::vector<TestField>& test_fields() {
  static const auto* fields = new std::vector<TestField>{
      {"name",
       {{"type", "string"},
        {"description", "The test's name; its position (from 1) if it has none"}},
       [](const TestCase& t, const TestReport&) { return ordered_json(sanitize_utf8(t.name)); }},
      {"verdict",
       {{"type", "string"},
        {"enum", verdict_names()},
        {"description", "accepted: the run succeeded and its output matched"}},
       [](const TestCase&, const TestReport& r) { return ordered_json(verdict_name(r.verdict)); }},
      from_result("status"),
      from_result("stdout"),
      from_result("stderr"),
      {"expected_output",
       {{"type", "string"}, {"description", "As given (invalid UTF-8 shown as U+FFFD)"}},
       [](const TestCase& t, const TestReport&) {
         return ordered_json(sanitize_utf8(t.expected_output));
       }},
      from_result("execution_time"),
      from_result("memory_used"),
      from_result("error"),
      from_result("exit_code"),
      from_result("truncated"),
      {"diff", diff_schema(),
       [](const TestCase&, const TestReport& r) { return diff_json(r.diff); }},
  };
  return *fields;
}

}  // namespace

RunRequest test_request(const GradeRequest& grade, size_t i) {
  const TestCase& test = grade.tests[i];
  RunRequest r = grade.base;
  r.stdin_data = test.stdin_data;
  if (test.timeout_s) r.timeout_s = *test.timeout_s;
  if (test.memory_mb) r.memory_mb = *test.memory_mb;
  return r;
}

std::optional<ValidationError> test_from_json(const nlohmann::json& item, const std::string& at,
                                              const RequestValidator& validator,
                                              const LimitsConfig& limits, TestCase* out) {
  if (!item.is_object()) return invalid(at, "must be an object");
  if (auto it = item.find("name"); it != item.end() && !it->is_null()) {
    if (!it->is_string()) return invalid(at + ".name", "must be a string");
    out->name = it->get<std::string>();
  }
  if (auto it = item.find("stdin"); it != item.end() && !it->is_null()) {
    if (!it->is_string()) return invalid(at + ".stdin", "must be a string");
    out->stdin_data = it->get<std::string>();
    if (static_cast<long>(out->stdin_data.size()) > limits.max_stdin_bytes)
      return invalid(at + ".stdin", "must be at most " + std::to_string(limits.max_stdin_bytes) +
                                        " bytes (got " + std::to_string(out->stdin_data.size()) +
                                        ")");
  }
  auto expected = item.find("expected_output");
  if (expected == item.end() || expected->is_null())
    return invalid(at + ".expected_output", "field required");
  if (auto e =
          check_expected_output(*expected, at + ".expected_output", limits, &out->expected_output))
    return e;
  for (const char* field : {"timeout", "memory_limit"}) {
    auto it = item.find(field);
    if (it == item.end() || it->is_null()) continue;
    RunRequest scratch;
    if (auto e = validator.read_limit(field, *it, &scratch))
      return ValidationError{e->http_status, at + "." + e->detail};
    if (std::string_view(field) == "timeout") {
      out->timeout_s = scratch.timeout_s;
    } else {
      out->memory_mb = scratch.memory_mb;
    }
  }
  return std::nullopt;
}

std::variant<GradeRequest, ValidationError> grade_from_json(const nlohmann::json& body,
                                                            const RequestValidator& validator,
                                                            const LimitsConfig& limits,
                                                            int max_tests) {
  GradeRequest grade;
  auto base = validator.from_value(body);  // code, files, the default limits
  if (auto* e = std::get_if<ValidationError>(&base)) return *e;
  grade.base = std::move(std::get<RunRequest>(base));
  grade.base.stdin_data.clear();
  Expectation compare;
  if (auto e = read_compare(body, "", &compare)) return *e;
  grade.mode = compare.mode;
  grade.tolerance = compare.tolerance;
  if (auto it = body.find("stop_on_failure"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) return invalid("stop_on_failure", "must be a boolean");
    grade.stop_on_failure = it->get<bool>();
  }
  auto tests = body.find("tests");
  if (tests == body.end() || tests->is_null()) return invalid("tests", "field required");
  if (!tests->is_array()) return invalid("tests", "must be a list");
  if (tests->empty()) return invalid("tests", "must not be empty");
  if (static_cast<long>(tests->size()) > max_tests)
    return invalid("tests", "at most " + std::to_string(max_tests) +
                                " tests, server.max_tests (got " + std::to_string(tests->size()) +
                                ")");
  for (size_t i = 0; i < tests->size(); ++i) {
    TestCase test;
    test.name = std::to_string(i + 1);
    if (auto e = test_from_json((*tests)[i], "tests[" + std::to_string(i) + "]", validator, limits,
                                &test))
      return *e;
    grade.tests.push_back(std::move(test));
  }
  return grade;
}

GradeOutcome run_grade(const GradeRequest& grade, size_t parallelism, const RunFn& run) {
  const size_t n = grade.tests.size();
  std::vector<std::optional<TestReport>> done(n);
  std::optional<RunOutcome> abort;
  std::mutex mutex;
  run_indexed(n, parallelism, [&](size_t i) {
    RunOutcome outcome = run(test_request(grade, i));
    std::lock_guard<std::mutex> lock(mutex);
    if (!outcome.ok()) {
      if (!abort) abort = std::move(outcome);
      return false;
    }
    TestReport report;
    const Expectation expectation{grade.tests[i].expected_output, grade.mode, grade.tolerance};
    auto judgement = judge(outcome.value(), expectation);
    report.verdict = judgement.verdict;
    report.diff = std::move(judgement.diff);
    report.result = std::move(outcome.value());
    const bool passed = report.verdict == Verdict::kAccepted;
    done[i] = std::move(report);
    return passed || !grade.stop_on_failure;
  });
  GradeOutcome out;
  out.report.total = static_cast<int>(n);
  if (abort) {
    out.abort = std::move(abort);
    return out;
  }
  GradeReport& r = out.report;
  for (size_t i = 0; i < n && done[i]; ++i) {
    const bool passed = done[i]->verdict == Verdict::kAccepted;
    if (!passed && r.failed == 0) r.verdict = done[i]->verdict;
    passed ? ++r.passed : ++r.failed;
    r.tests.push_back(std::move(*done[i]));
    if (!passed && grade.stop_on_failure) break;
  }
  r.skipped = r.total - static_cast<int>(r.tests.size());
  return out;
}

ordered_json test_json(const TestCase& test, const TestReport& report) {
  ordered_json j = ordered_json::object();
  for (const auto& field : test_fields()) j[field.name] = field.encode(test, report);
  return j;
}

ordered_json grade_json(const GradeRequest& grade, const GradeReport& report) {
  ordered_json tests = ordered_json::array();
  for (size_t i = 0; i < report.tests.size(); ++i)
    tests.push_back(test_json(grade.tests[i], report.tests[i]));
  return {{"verdict", verdict_name(report.verdict)},
          {"passed", report.passed},
          {"failed", report.failed},
          {"total", report.total},
          {"skipped", report.skipped},
          {"tests", tests}};
}

ordered_json test_result_schema() {
  ordered_json properties = ordered_json::object();
  ordered_json required = ordered_json::array();
  for (const auto& field : test_fields()) {
    properties[field.name] = field.schema;
    required.push_back(field.name);
  }
  return {{"type", "object"}, {"required", required}, {"properties", properties}};
}

ordered_json grade_schema() {
  const auto integer = [](const char* description) {
    return ordered_json{{"type", "integer"}, {"description", description}};
  };
  return {{"type", "object"},
          {"required", {"verdict", "passed", "failed", "total", "skipped", "tests"}},
          {"properties",
           {{"verdict",
             {{"type", "string"},
              {"enum", verdict_names()},
              {"description", "accepted iff every test is; else the first failing test's"}}},
            {"passed", integer("Tests accepted")},
            {"failed", integer("Tests run and not accepted")},
            {"total", integer("Tests given")},
            {"skipped", integer("Tests not run (after the first failure, with stop_on_failure)")},
            {"tests",
             {{"type", "array"},
              {"description", "In test order; with stop_on_failure they end at the first failure"},
              {"items", {{"$ref", "#/components/schemas/TestResult"}}}}}}}};
}

}  // namespace pyrunner::grading
