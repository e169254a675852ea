#pragma once
/// Grading: one program run against many tests, each its own run (a fresh sandbox), each
/// output compared with the expected one; a verdict per test and one for the whole. Shared by
/// POST /grade and `pyrunner test`; the run itself is the caller's (RunFn), so that the server
/// sends every test through its admission and the CLI through its own pool.

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/config/config.h"
#include "core/executor/executor.h"
#include "core/grading/verdict.h"
#include "core/validator/validator.h"

namespace pyrunner::grading {

struct TestCase {
  std::string name;  // "1", "2", ... when the test names none
  std::string stdin_data;
  std::string expected_output;
  std::optional<int> timeout_s;  // else the grade's
  std::optional<int> memory_mb;
};

struct GradeRequest {
  RunRequest base;  // the code, the files every test is given, the default limits
  std::vector<TestCase> tests;
  CompareMode mode = CompareMode::kTrim;
  double tolerance = kDefaultTolerance;
  bool stop_on_failure = false;
};

/// The run request of test `i`.
RunRequest test_request(const GradeRequest& grade, size_t i);

/// Parses and checks a POST /grade body: {"code", "tests": [...], "compare"?, "tolerance"?,
/// "stop_on_failure"?, "files"?, "timeout"?, "memory_limit"?}. At most `max_tests` tests.
std::variant<GradeRequest, ValidationError> grade_from_json(const nlohmann::json& body,
                                                            const RequestValidator& validator,
                                                            const LimitsConfig& limits,
                                                            int max_tests);

/// Checks one test given as JSON ({"name"?, "stdin"?, "expected_output", "timeout"?,
/// "memory_limit"?}); errors name `at` ("tests[2]") + the field.
std::optional<ValidationError> test_from_json(const nlohmann::json& item, const std::string& at,
                                              const RequestValidator& validator,
                                              const LimitsConfig& limits, TestCase* out);

struct TestReport {
  Verdict verdict = Verdict::kError;
  RunResult result;
  std::optional<Diff> diff;
};

struct GradeReport {
  Verdict verdict = Verdict::kAccepted;  // accepted iff every test is; else the first failure's
  int passed = 0, failed = 0;
  int total = 0;                  // tests given
  int skipped = 0;                // not run: after the first failure, with stop_on_failure
  std::vector<TestReport> tests;  // in test order; the first passed + failed tests
};

/// One run; anything but a RunResult (overload, shutdown, a client gone) ends the grade.
using RunFn = std::function<RunOutcome(const RunRequest&)>;

struct GradeOutcome {
  GradeReport report;
  std::optional<RunOutcome> abort;  // set when a test could not be run: no report then
};

/// Runs the tests, at most `parallelism` at once, in order. With stop_on_failure no test is
/// started after one fails, and the report ends at the first failing test (tests that were
/// already running past it are not reported), so it is the same however the runs interleave.
GradeOutcome run_grade(const GradeRequest& grade, size_t parallelism, const RunFn& run);

/// The report as JSON: {"verdict", "passed", "failed", "total", "skipped", "tests": [...]}.
nlohmann::ordered_json grade_json(const GradeRequest& grade, const GradeReport& report);
/// One test's entry, fields in the order of test_fields().
nlohmann::ordered_json test_json(const TestCase& test, const TestReport& report);
/// The OpenAPI schemas of the report and of one test's entry, from the same tables.
nlohmann::ordered_json grade_schema();
nlohmann::ordered_json test_result_schema();

}  // namespace pyrunner::grading
