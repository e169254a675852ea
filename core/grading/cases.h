#pragma once
/// The CASES of `pyrunner test`: a YAML or JSON list of tests (the fields of a POST /grade test),
/// or a directory of NAME.in with NAME.out (or NAME.ans) beside each. Malformed cases are
/// refused with the file, the line and the reason.

#include <string>
#include <vector>

#include "core/grading/grade.h"
#include "core/util/status.h"

namespace pyrunner::grading {

struct CasesError {
  bool unreadable = false;  // a file or directory could not be read (else: malformed)
  std::string message;      // "cases.yaml:7: case 3: expected_output: field required"
};

struct LoadedCases {
  std::vector<TestCase> tests;
  std::optional<CasesError> error;
};

/// Reads `path`. Case files are YAML (JSON is read as the YAML it also is); their keys are
/// name, stdin, expected_output, timeout and memory_limit, and any other key is refused (a
/// typo must not silently drop an expectation). Directory cases are read as bytes, in natural
/// name order (2 before 10).
LoadedCases load_cases(const std::string& path, const RequestValidator& validator,
                       const LimitsConfig& limits);

}  // namespace pyrunner::grading
