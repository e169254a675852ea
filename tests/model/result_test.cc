#include "core/model/result.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using pyrunner::Outcome;
using pyrunner::RunResult;

TEST_CASE("one table maps outcomes to status and exit code", "[result]") {
  CHECK(pyrunner::outcome_status(Outcome::kSuccess) == "success");
  CHECK(pyrunner::outcome_status(Outcome::kError) == "error");
  CHECK(pyrunner::outcome_status(Outcome::kTimeout) == "timeout");
  CHECK(pyrunner::outcome_status(Outcome::kMemoryExceeded) == "memory_exceeded");
  CHECK(pyrunner::outcome_exit_code(Outcome::kSuccess) == 0);
  CHECK(pyrunner::outcome_exit_code(Outcome::kError) == 1);
  CHECK(pyrunner::outcome_exit_code(Outcome::kTimeout) == 2);
  CHECK(pyrunner::outcome_exit_code(Outcome::kMemoryExceeded) == 3);
}

TEST_CASE("a result encodes every contract field in order", "[result]") {
  RunResult r;
  r.outcome = Outcome::kSuccess;
  r.stdout_text = "4\n";
  r.execution_time = 0.00412;
  r.memory_used_mb = 3.14159;
  r.exit_code = 0;
  CHECK(
      pyrunner::result_to_json(r) ==
      R"({"status":"success","stdout":"4\n","stderr":"","execution_time":0.0041,"memory_used":3.14,"error":null,"exit_code":0,"truncated":false,"results":[],"files":[],"files_truncated":false,"exception":null})");
}

TEST_CASE("invalid UTF-8 is replaced, never breaks the JSON", "[result]") {
  RunResult r;
  r.outcome = Outcome::kError;
  r.stdout_text = "ok \xff\xfe end";
  r.stderr_text = "\xe2\x82";  // a sequence cut short
  r.error = "bad \xc0\xaf";    // an overlong encoding
  r.truncated = true;
  auto j = nlohmann::json::parse(pyrunner::result_to_json(r));
  CHECK(j["stdout"] == "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
  CHECK(j["stderr"] == "\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(j["error"] == "bad \xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(j["exit_code"].is_null());
  CHECK(j["truncated"] == true);
}
