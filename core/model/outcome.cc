#include "core/model/outcome.h"

namespace pyrunner {
namespace {

struct OutcomeRow {
  Outcome outcome;
  std::string_view status;
  int exit_code;
};

constexpr OutcomeRow kOutcomes[] = {
    {Outcome::kSuccess, "success", 0},
    {Outcome::kError, "error", 1},
    {Outcome::kTimeout, "timeout", 2},
    {Outcome::kMemoryExceeded, "memory_exceeded", 3},
};

const OutcomeRow& row(Outcome outcome) {
  for (const auto& r : kOutcomes) {
    if (r.outcome == outcome) return r;
  }
  return kOutcomes[1];
}

}  // namespace

std::string_view outcome_status(Outcome outcome) { return row(outcome).status; }
int outcome_exit_code(Outcome outcome) { return row(outcome).exit_code; }

}  // namespace pyrunner
