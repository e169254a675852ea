#pragma once
/// POST /batch: many independent runs in one request. Each item is a POST /run body (with its
/// own expected_output, if any); an invalid item gets its own {"detail"} and the others run.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/grading/grade.h"

namespace pyrunner::grading {

struct BatchItem {
  std::optional<RunRequest> request;  // unset: invalid
  std::optional<Expectation> expectation;
  std::string detail;  // why it is invalid
};

/// {"runs": [...]}, at most `max_batch` items; a body that is not that is the whole batch's
/// error, an invalid item only its own.
std::variant<std::vector<BatchItem>, ValidationError> batch_from_json(
    const nlohmann::json& body, const RequestValidator& validator, const LimitsConfig& limits,
    int max_batch);

/// Runs the valid items, at most `parallelism` at once; {"results": [result | {"detail"}]} in
/// item order. An item that could not be run (overload, shutdown) gets {"detail": why}.
nlohmann::ordered_json run_batch(const std::vector<BatchItem>& items, size_t parallelism,
                                 const RunFn& run);

nlohmann::ordered_json batch_request_schema(int max_batch);
nlohmann::ordered_json batch_result_schema();

}  // namespace pyrunner::grading
