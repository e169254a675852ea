#pragma once
/// How a program's output is compared with the expected output, and where they first differ.
/// Shared by POST /run, /grade, `pyrunner test` and the Judge0 routes. Comparison is on bytes:
/// output that is not UTF-8 compares as it is, and only the diff shown to people has its
/// invalid sequences replaced (U+FFFD).

#include <optional>
#include <string>
#include <string_view>

namespace pyrunner::grading {

enum class CompareMode {
  kTrim,     // Judge0's rule: each line right-stripped, trailing empty lines dropped
  kExact,    // byte for byte
  kTokens,   // whitespace-separated tokens
  kNumbers,  // tokens; numeric ones equal within the tolerance (absolute or relative)
};

inline constexpr double kDefaultTolerance = 1e-6;

/// "trim" | "exact" | "tokens" | "numbers".
std::string_view compare_mode_name(CompareMode mode);
std::optional<CompareMode> compare_mode_from_name(std::string_view name);
/// "'trim', 'exact', 'tokens' or 'numbers'": for error messages.
std::string compare_mode_choices();

/// Where the output first differs from the expected output. `line` counts from 1 in the
/// program's output; `expected`/`got` are that line (trim, exact) or that token (tokens,
/// numbers), made valid UTF-8 and cut at kMaxDiffBytes; nullopt where one side has ended.
struct Diff {
  size_t line = 1;
  std::optional<std::string> expected, got;
};

inline constexpr size_t kMaxDiffBytes = 200;

struct Comparison {
  bool equal = false;
  std::optional<Diff> diff;  // set when !equal
};

Comparison compare_output(std::string_view expected, std::string_view got, CompareMode mode,
                          double tolerance = kDefaultTolerance);

/// Judge0's normalisation (its IsolateJob#strip): split on "\n", each line right-stripped of
/// NUL and ASCII whitespace, joined with "\n", then right-stripped as a whole.
std::string judge0_trim(std::string_view text);

}  // namespace pyrunner::grading
