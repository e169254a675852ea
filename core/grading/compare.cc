#include "core/grading/compare.h"

#include <cmath>
#include <cstdlib>
#include <vector>

#include "core/util/utf8.h"

namespace pyrunner::grading {
namespace {

struct ModeName {
  CompareMode mode;
  std::string_view name;
};
constexpr ModeName kModes[] = {{CompareMode::kTrim, "trim"},
                               {CompareMode::kExact, "exact"},
                               {CompareMode::kTokens, "tokens"},
                               {CompareMode::kNumbers, "numbers"}};

// Ruby's String#rstrip set: NUL and ASCII whitespace.
bool is_strip_space(char c) { return c == '\0' || c == ' ' || (c >= '\t' && c <= '\r'); }
bool is_token_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

std::string_view rstrip(std::string_view s) {
  size_t end = s.size();
  while (end > 0 && is_strip_space(s[end - 1])) --end;
  return s.substr(0, end);
}

std::string shown(std::string_view s) {
  std::string out = sanitize_utf8(s.substr(0, kMaxDiffBytes));
  if (s.size() > kMaxDiffBytes) out += "…";
  return out;
}

std::optional<std::string> shown_at(const std::vector<std::string_view>& v, size_t i) {
  if (i >= v.size()) return std::nullopt;
  return shown(v[i]);
}

// Lines split on "\n". With `keep_newline` each line keeps its "\n" (exact mode shows a missing
// final newline); without, a trailing empty field is not a line (Ruby's split).
std::vector<std::string_view> split_lines(std::string_view text, bool keep_newline) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    lines.push_back(
        text.substr(start, (keep_newline && nl != std::string_view::npos ? end + 1 : end) - start));
    start = end + 1;
  }
  if (!keep_newline) {
    while (!lines.empty() && lines.back().empty()) lines.pop_back();
  }
  return lines;
}

Comparison compare_lines(const std::vector<std::string_view>& expected,
                         const std::vector<std::string_view>& got) {
  const size_t n = std::max(expected.size(), got.size());
  for (size_t i = 0; i < n; ++i) {
    if (i < expected.size() && i < got.size() && expected[i] == got[i]) continue;
    return {false, Diff{i + 1, shown_at(expected, i), shown_at(got, i)}};
  }
  return {true, std::nullopt};
}

struct Token {
  std::string_view text;
  size_t line;  // from 1
};

std::vector<Token> split_tokens(std::string_view text) {
  std::vector<Token> tokens;
  size_t line = 1;
  size_t i = 0;
  while (i < text.size()) {
    if (is_token_space(text[i])) {
      if (text[i] == '\n') ++line;
      ++i;
      continue;
    }
    size_t start = i;
    while (i < text.size() && !is_token_space(text[i])) ++i;
    tokens.push_back({text.substr(start, i - start), line});
  }
  return tokens;
}

// A decimal number as people write it: [+-]digits[.digits][e[+-]digits] (no hex, inf or nan,
// which compare as words).
std::optional<double> as_number(std::string_view token) {
  size_t i = 0, digits = 0;
  if (i < token.size() && (token[i] == '+' || token[i] == '-')) ++i;
  while (i < token.size() && std::isdigit(static_cast<unsigned char>(token[i]))) ++i, ++digits;
  if (i < token.size() && token[i] == '.') {
    ++i;
    while (i < token.size() && std::isdigit(static_cast<unsigned char>(token[i]))) ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    if (i < token.size() && (token[i] == '+' || token[i] == '-')) ++i;
    size_t exponent = 0;
    while (i < token.size() && std::isdigit(static_cast<unsigned char>(token[i]))) ++i, ++exponent;
    if (exponent == 0) return std::nullopt;
  }
  if (i != token.size()) return std::nullopt;
  return std::strtod(std::string(token).c_str(), nullptr);
}

bool tokens_equal(std::string_view expected, std::string_view got, bool numeric, double tolerance) {
  if (expected == got) return true;
  if (!numeric) return false;
  auto a = as_number(expected), b = as_number(got);
  if (!a || !b) return false;
  const double difference = std::fabs(*a - *b);
  return difference <= tolerance ||
         difference <= tolerance * std::max(std::fabs(*a), std::fabs(*b));
}

Comparison compare_tokens(std::string_view expected_text, std::string_view got_text, bool numeric,
                          double tolerance) {
  const auto expected = split_tokens(expected_text);
  const auto got = split_tokens(got_text);
  const size_t n = std::max(expected.size(), got.size());
  for (size_t i = 0; i < n; ++i) {
    if (i < expected.size() && i < got.size() &&
        tokens_equal(expected[i].text, got[i].text, numeric, tolerance))
      continue;
    Diff diff;
    // The line of the program's output where it went wrong: its token's, or past its last.
    diff.line = i < got.size() ? got[i].line : (got.empty() ? 1 : got.back().line);
    if (i < expected.size()) diff.expected = shown(expected[i].text);
    if (i < got.size()) diff.got = shown(got[i].text);
    return {false, diff};
  }
  return {true, std::nullopt};
}

}  // namespace

std::string_view compare_mode_name(CompareMode mode) {
  for (const auto& m : kModes) {
    if (m.mode == mode) return m.name;
  }
  return "trim";
}

std::optional<CompareMode> compare_mode_from_name(std::string_view name) {
  for (const auto& m : kModes) {
    if (m.name == name) return m.mode;
  }
  return std::nullopt;
}

std::string compare_mode_choices() { return "'trim', 'exact', 'tokens' or 'numbers'"; }

std::string judge0_trim(std::string_view text) {
  std::string out;
  for (auto line : split_lines(text, false)) {
    out.append(rstrip(line));
    out.push_back('\n');
  }
  return std::string(rstrip(out));
}

Comparison compare_output(std::string_view expected, std::string_view got, CompareMode mode,
                          double tolerance) {
  switch (mode) {
    case CompareMode::kExact:
      if (expected == got) return {true, std::nullopt};
      return compare_lines(split_lines(expected, true), split_lines(got, true));
    case CompareMode::kTrim: {
      const std::string a = judge0_trim(expected), b = judge0_trim(got);
      if (a == b) return {true, std::nullopt};
      return compare_lines(split_lines(a, false), split_lines(b, false));
    }
    case CompareMode::kTokens:
      return compare_tokens(expected, got, false, tolerance);
    case CompareMode::kNumbers:
      return compare_tokens(expected, got, true, tolerance);
  }
  return {false, Diff{}};
}

}  // namespace pyrunner::grading
