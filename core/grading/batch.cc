#include "core/grading/batch.h"

#include <mutex>

#include "core/grading/parallel.h"

namespace pyrunner::grading {
namespace {

using nlohmann::ordered_json;

ordered_json detail(const std::string& text) { return {{"detail", text}}; }

}  // namespace

std::variant<std::vector<BatchItem>, ValidationError> batch_from_json(
    const nlohmann::json& body, const RequestValidator& validator, const LimitsConfig& limits,
    int max_batch) {
  if (!body.is_object()) return ValidationError{422, "body: must be a JSON object"};
  auto runs = body.find("runs");
  if (runs == body.end() || runs->is_null()) return ValidationError{422, "runs: field required"};
  if (!runs->is_array()) return ValidationError{422, "runs: must be a list"};
  if (runs->empty()) return ValidationError{422, "runs: must not be empty"};
  if (static_cast<long>(runs->size()) > max_batch)
    return ValidationError{422, "runs: at most " + std::to_string(max_batch) +
                                    " runs, server.max_batch (got " + std::to_string(runs->size()) +
                                    ")"};
  std::vector<BatchItem> items(runs->size());
  for (size_t i = 0; i < runs->size(); ++i) {
    const auto& value = (*runs)[i];
    auto request = validator.from_value(value);
    if (auto* e = std::get_if<ValidationError>(&request)) {
      items[i].detail = e->detail;
      continue;
    }
    auto expectation = read_expectation(value, limits);
    if (auto* e = std::get_if<ValidationError>(&expectation)) {
      items[i].detail = e->detail;
      continue;
    }
    items[i].request = std::move(std::get<RunRequest>(request));
    items[i].expectation = std::move(std::get<std::optional<Expectation>>(expectation));
  }
  return items;
}

ordered_json run_batch(const std::vector<BatchItem>& items, size_t parallelism, const RunFn& run) {
  std::vector<size_t> valid;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].request) valid.push_back(i);
  }
  std::vector<ordered_json> results(items.size());
  std::mutex mutex;
  run_indexed(valid.size(), parallelism, [&](size_t k) {
    const BatchItem& item = items[valid[k]];
    RunOutcome outcome = run(*item.request);
    ordered_json answer = outcome.ok()
                              ? ordered_json::parse(run_answer(outcome.value(), item.expectation))
                              : ordered_json{{"detail", outcome.status().message()}};
    std::lock_guard<std::mutex> lock(mutex);
    results[valid[k]] = std::move(answer);
    return true;
  });
  ordered_json out = ordered_json::array();
  for (size_t i = 0; i < items.size(); ++i)
    out.push_back(items[i].request ? std::move(results[i]) : detail(items[i].detail));
  return {{"results", out}};
}

ordered_json batch_request_schema(int max_batch) {
  return {{"type", "object"},
          {"required", {"runs"}},
          {"properties",
           {{"runs",
             {{"type", "array"},
              {"minItems", 1},
              {"maxItems", max_batch},
              {"description", "POST /run bodies (expected_output and compare included)"},
              {"items", {{"$ref", "#/components/schemas/RunRequest"}}}}}}}};
}

ordered_json batch_result_schema() {
  return {{"type", "object"},
          {"required", {"results"}},
          {"properties",
           {{"results",
             {{"type", "array"},
              {"description",
               "In item order: the item's result (with verdict and diff when it expected an "
               "output), or {\"detail\"} for an item that is invalid or could not be run"},
              {"items",
               {{"oneOf",
                 {{{"$ref", "#/components/schemas/RunResult"}},
                  {{"$ref", "#/components/schemas/Error"}}}}}}}}}}};
}

}  // namespace pyrunner::grading
