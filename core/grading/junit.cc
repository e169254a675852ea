#include "core/grading/junit.h"

#include <cstdio>
#include <ctime>

#include "core/util/utf8.h"

namespace pyrunner::grading {
namespace {

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

std::string attr(const char* name, const std::string& value) {
  return std::string(" ") + name + "=\"" + xml_escape(value) + "\"";
}

std::string side(const std::optional<std::string>& s) { return s ? "'" + *s + "'" : "(nothing)"; }

}  // namespace

std::string xml_escape(std::string_view text) {
  const std::string valid = sanitize_utf8(text);
  std::string out;
  out.reserve(valid.size());
  for (char c : valid) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 has no control characters but tab, newline and carriage return.
        if (u < 0x20 && c != '\t' && c != '\n' && c != '\r') break;
        out += c;
    }
  }
  return out;
}

std::string diff_text(const std::optional<Diff>& diff) {
  if (!diff) return "";
  return "line " + std::to_string(diff->line) + ": expected " + side(diff->expected) + ", got " +
         side(diff->got);
}

std::string junit_xml(const std::string& suite, const GradeRequest& grade,
                      const GradeReport& report) {
  int failures = 0, errors = 0;
  double total_time = 0;
  for (const auto& t : report.tests) {
    total_time += t.result.execution_time;
    if (t.verdict == Verdict::kError) {
      ++errors;
    } else if (t.verdict != Verdict::kAccepted) {
      ++failures;
    }
  }
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", std::gmtime(&now));
  const std::string counts =
      attr("tests", std::to_string(report.total)) + attr("failures", std::to_string(failures)) +
      attr("errors", std::to_string(errors)) + attr("skipped", std::to_string(report.skipped)) +
      attr("time", seconds(total_time));
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<testsuites" + attr("name", "pyrunner test") + counts + ">\n";
  x += "  <testsuite" + attr("name", suite) + counts + attr("timestamp", stamp) + ">\n";
  for (size_t i = 0; i < grade.tests.size(); ++i) {
    const TestCase& test = grade.tests[i];
    x += "    <testcase" + attr("classname", suite) + attr("name", test.name);
    if (i >= report.tests.size()) {
      x += attr("time", "0") + ">\n      <skipped" +
           attr("message", "not run: an earlier test failed (stop on failure)") +
           "/>\n    </testcase>\n";
      continue;
    }
    const TestReport& t = report.tests[i];
    x += attr("time", seconds(t.result.execution_time)) + ">\n";
    const std::string verdict(verdict_name(t.verdict));
    if (t.verdict == Verdict::kError) {
      x += "      <error" + attr("type", verdict) +
           attr("message", t.result.error.value_or("the program failed")) + ">" +
           xml_escape(t.result.stderr_text) + "</error>\n";
    } else if (t.verdict != Verdict::kAccepted) {
      std::string message = verdict;
      if (t.diff) message += ": " + diff_text(t.diff);
      if (t.result.error) message += ": " + *t.result.error;
      std::string body =
          "expected output:\n" + test.expected_output + "\n\noutput:\n" + t.result.stdout_text;
      x += "      <failure" + attr("type", verdict) + attr("message", message) + ">" +
           xml_escape(body) + "</failure>\n";
    }
    x += "      <system-out>" + xml_escape(t.result.stdout_text) + "</system-out>\n";
    x += "      <system-err>" + xml_escape(t.result.stderr_text) + "</system-err>\n";
    x += "    </testcase>\n";
  }
  x += "  </testsuite>\n</testsuites>\n";
  return x;
}

}  // namespace pyrunner::grading
