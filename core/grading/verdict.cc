#include "core/grading/verdict.h"

#include <cmath>

namespace pyrunner::grading {
namespace {

using nlohmann::ordered_json;

struct VerdictName {
  Verdict verdict;
  std::string_view name;
};
constexpr VerdictName kVerdicts[] = {{Verdict::kAccepted, "accepted"},
                                     {Verdict::kWrongAnswer, "wrong_answer"},
                                     {Verdict::kTimeout, "timeout"},
                                     {Verdict::kMemoryExceeded, "memory_exceeded"},
                                     {Verdict::kError, "error"}};

ValidationError invalid(const std::string& field, const std::string& reason) {
  return {422, field + ": " + reason};
}

}  // namespace

std::string_view verdict_name(Verdict verdict) {
  for (const auto& v : kVerdicts) {
    if (v.verdict == verdict) return v.name;
  }
  return "error";
}

ordered_json verdict_names() {
  ordered_json names = ordered_json::array();
  for (const auto& v : kVerdicts) names.push_back(v.name);
  return names;
}

Judgement judge(const RunResult& result, const Expectation& expectation) {
  switch (result.outcome) {
    case Outcome::kTimeout:
      return {Verdict::kTimeout, std::nullopt};
    case Outcome::kMemoryExceeded:
      return {Verdict::kMemoryExceeded, std::nullopt};
    case Outcome::kError:
      return {Verdict::kError, std::nullopt};
    case Outcome::kSuccess:
      break;
  }
  auto c = compare_output(expectation.output, result.stdout_text, expectation.mode,
                          expectation.tolerance);
  if (c.equal) return {Verdict::kAccepted, std::nullopt};
  return {Verdict::kWrongAnswer, c.diff};
}

ordered_json diff_json(const std::optional<Diff>& diff) {
  if (!diff) return nullptr;
  const auto side = [](const std::optional<std::string>& s) {
    return s ? ordered_json(*s) : ordered_json(nullptr);
  };
  return {{"line", diff->line}, {"expected", side(diff->expected)}, {"got", side(diff->got)}};
}

ordered_json diff_schema() {
  return {{"type", "object"},
          {"nullable", true},
          {"description",
           "Where the output first differs (null unless wrong_answer): the line of the program's "
           "output (from 1), and that line (trim, exact) or token (tokens, numbers) on each "
           "side, null where that side has ended; invalid UTF-8 shown as U+FFFD"},
          {"properties",
           {{"line", {{"type", "integer"}}},
            {"expected", {{"type", "string"}, {"nullable", true}}},
            {"got", {{"type", "string"}, {"nullable", true}}}}}};
}

std::optional<ValidationError> read_compare(const nlohmann::json& body, const std::string& prefix,
                                            Expectation* out) {
  if (auto it = body.find("compare"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return invalid(prefix + "compare", "must be a string");
    auto mode = compare_mode_from_name(it->get<std::string>());
    if (!mode)
      return invalid(prefix + "compare", "must be " + compare_mode_choices() + " (got '" +
                                             it->get<std::string>() + "')");
    out->mode = *mode;
  }
  if (auto it = body.find("tolerance"); it != body.end() && !it->is_null()) {
    // bool is not a number to nlohmann
    if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0)
      return invalid(prefix + "tolerance", "must be a number >= 0");
    out->tolerance = it->get<double>();
  }
  return std::nullopt;
}

std::optional<ValidationError> check_expected_output(const nlohmann::json& value,
                                                     const std::string& field,
                                                     const LimitsConfig& limits, std::string* out) {
  if (!value.is_string()) return invalid(field, "must be a string");
  const auto& text = value.get_ref<const std::string&>();
  if (static_cast<long>(text.size()) > limits.max_output_bytes)
    return invalid(field, "must be at most " + std::to_string(limits.max_output_bytes) +
                              " bytes, the output cap limits.max_output_bytes (got " +
                              std::to_string(text.size()) + ")");
  *out = text;
  return std::nullopt;
}

std::variant<std::optional<Expectation>, ValidationError> read_expectation(
    const nlohmann::json& body, const LimitsConfig& limits) {
  Expectation e;
  if (auto error = read_compare(body, "", &e)) return *error;
  auto it = body.find("expected_output");
  if (it == body.end() || it->is_null()) return std::optional<Expectation>();
  if (auto error = check_expected_output(*it, "expected_output", limits, &e.output)) return *error;
  return std::optional<Expectation>(std::move(e));
}

std::string run_answer(const RunResult& result, const std::optional<Expectation>& expectation) {
  if (!expectation) return result_to_json(result);
  auto j = result_json(result);
  auto judgement = judge(result, *expectation);
  j["verdict"] = verdict_name(judgement.verdict);
  j["diff"] = diff_json(judgement.diff);
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

}  // namespace pyrunner::grading
