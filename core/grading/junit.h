#pragma once
/// JUnit XML for CI systems (GitLab, GitHub, Jenkins read it): one testsuite, one testcase per
/// test; a failed test's verdict and first diff line in its <failure> (wrong_answer, timeout,
/// memory_exceeded) or <error> (the program failed), its output in system-out/system-err.

#include <string>

#include "core/grading/grade.h"

namespace pyrunner::grading {

/// `suite` names the testsuite and every testcase's classname (the solution's file name).
std::string junit_xml(const std::string& suite, const GradeRequest& grade,
                      const GradeReport& report);

/// `text` made valid UTF-8 and escaped for XML (characters XML 1.0 cannot hold are dropped).
std::string xml_escape(std::string_view text);

/// "line 1: expected '5', got '4'", or "" without a diff.
std::string diff_text(const std::optional<Diff>& diff);

}  // namespace pyrunner::grading
