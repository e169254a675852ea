#pragma once
/// The verdict on one run checked against an expected output, and how the expectation is read
/// from a request (POST /run, a test of POST /grade).

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/config/config.h"
#include "core/grading/compare.h"
#include "core/model/result.h"
#include "core/validator/validator.h"

namespace pyrunner::grading {

enum class Verdict { kAccepted, kWrongAnswer, kTimeout, kMemoryExceeded, kError };

/// "accepted" | "wrong_answer" | "timeout" | "memory_exceeded" | "error".
std::string_view verdict_name(Verdict verdict);
/// The enum of verdict names, for the OpenAPI document.
nlohmann::ordered_json verdict_names();

struct Expectation {
  std::string output;
  CompareMode mode = CompareMode::kTrim;
  double tolerance = kDefaultTolerance;
};

struct Judgement {
  Verdict verdict = Verdict::kError;
  std::optional<Diff> diff;  // for a wrong answer
};

/// A run that did not succeed gets the verdict of its outcome; a successful one is compared.
Judgement judge(const RunResult& result, const Expectation& expectation);

/// {"line", "expected", "got"}, or null.
nlohmann::ordered_json diff_json(const std::optional<Diff>& diff);
nlohmann::ordered_json diff_schema();

/// `compare` and `tolerance` of a JSON object (absent or null: `fallback`'s). Errors name
/// `prefix` + the field.
std::optional<ValidationError> read_compare(const nlohmann::json& body, const std::string& prefix,
                                            Expectation* out);

/// `expected_output` (with `compare` and `tolerance`) of a POST /run body: nullopt when
/// expected_output is absent or null. An expected output longer than the output cap could
/// never match, so it is refused.
std::variant<std::optional<Expectation>, ValidationError> read_expectation(
    const nlohmann::json& body, const LimitsConfig& limits);

/// Checks `text` (the field `field`) as an expected output: a string within the output cap.
std::optional<ValidationError> check_expected_output(const nlohmann::json& value,
                                                     const std::string& field,
                                                     const LimitsConfig& limits, std::string* out);

/// POST /run's answer: the result, plus `verdict` and `diff` when an output was expected.
std::string run_answer(const RunResult& result, const std::optional<Expectation>& expectation);

}  // namespace pyrunner::grading
