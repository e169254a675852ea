#include "core/grading/openapi.h"

#include "core/grading/batch.h"
#include "core/grading/grade.h"
#include "core/http/openapi_parts.h"

namespace pyrunner::grading {
namespace {

using nlohmann::ordered_json;
using openapi::error_answer;
using openapi::json_content;
using openapi::overload_answer;
using openapi::ref;

ordered_json compare_schema() {
  return {{"type", "string"},
          {"enum", {"trim", "exact", "tokens", "numbers"}},
          {"default", "trim"},
          {"description",
           "trim: each line right-stripped, trailing empty lines dropped (Judge0's rule); exact: "
           "byte for byte; tokens: whitespace-separated tokens; numbers: tokens, numeric ones "
           "equal within tolerance (absolute or relative)"}};
}

ordered_json tolerance_schema() {
  return {{"type", "number"},
          {"minimum", 0},
          {"default", 1e-6},
          {"description", "For compare 'numbers'"}};
}

ordered_json expected_output_schema(const Config& config, const char* description) {
  return {{"type", "string"},
          {"maxLength", config.limits.max_output_bytes},
          {"description", description}};
}

}  // namespace

void add_openapi(ordered_json& doc, const Config& config) {
  const auto& l = config.limits;
  auto& schemas = doc["components"]["schemas"];
  auto& run_properties = schemas["RunRequest"]["properties"];
  run_properties["expected_output"] = expected_output_schema(
      config, "When given, the result also has verdict and diff (output compared by compare)");
  run_properties["compare"] = compare_schema();
  run_properties["tolerance"] = tolerance_schema();
  auto& result_properties = schemas["RunResult"]["properties"];
  result_properties["verdict"] = {{"type", "string"},
                                  {"enum", verdict_names()},
                                  {"description", "Only when the request had expected_output"}};
  result_properties["diff"] = diff_schema();
  result_properties["diff"]["description"] =
      "Only when the request had expected_output: " +
      result_properties["diff"]["description"].get<std::string>();

  ordered_json test = {
      {"type", "object"},
      {"required", {"expected_output"}},
      {"properties",
       {{"name", {{"type", "string"}, {"description", "Default: its position, from 1"}}},
        {"stdin", {{"type", "string"}, {"maxLength", l.max_stdin_bytes}}},
        {"expected_output", expected_output_schema(config, "Compared with the test's stdout")},
        {"timeout",
         {{"type", "integer"},
          {"minimum", 1},
          {"maximum", l.max_timeout},
          {"description", "Seconds; default: the grade's timeout"}}},
        {"memory_limit",
         {{"type", "integer"},
          {"minimum", l.min_memory_mb},
          {"maximum", l.max_memory_mb},
          {"description", "MB; default: the grade's memory_limit"}}}}}};
  ordered_json grade_request = schemas["RunRequest"];
  grade_request["required"] = {"code", "tests"};
  auto& gp = grade_request["properties"];
  gp.erase("stdin");
  gp.erase("expected_output");
  gp["timeout"]["description"] = "Seconds per test (a test may set its own)";
  gp["memory_limit"]["description"] = "MB per test (a test may set its own)";
  gp["files"]["description"] = "Written into the working directory of every test";
  gp["tests"] = {{"type", "array"},
                 {"minItems", 1},
                 {"maxItems", config.server.max_tests},
                 {"items", ref("GradeTest")}};
  gp["stop_on_failure"] = {{"type", "boolean"},
                           {"default", false},
                           {"description", "Start no test after the first failure"}};
  schemas["GradeTest"] = test;
  schemas["GradeRequest"] = grade_request;
  schemas["TestResult"] = test_result_schema();
  schemas["GradeResult"] = grade_schema();
  schemas["BatchRequest"] = batch_request_schema(config.server.max_batch);
  schemas["BatchResult"] = batch_result_schema();

  const auto post = [&](const char* summary, const char* request, const char* result,
                        const char* ok, const char* unprocessable) {
    ordered_json responses = {
        {"200", {{"description", ok}, {"content", json_content(ref(result))}}},
        {"400", error_answer("The body is not JSON")},
        {"413", error_answer("The body is larger than server.max_body_bytes")},
        {"422", error_answer(unprocessable)}};
    return ordered_json{
        {"summary", summary},
        {"requestBody", {{"required", true}, {"content", json_content(ref(request))}}},
        {"responses", responses}};
  };
  doc["paths"]["/grade"]["post"] =
      post("Run the code against tests and judge each output", "GradeRequest", "GradeResult",
           "Every test ran (or was skipped after a failure); verdicts inside",
           "A field is missing, of the wrong type or out of range (the detail names it, e.g. "
           "tests[2].expected_output)");
  auto& grade_responses = doc["paths"]["/grade"]["post"]["responses"];
  grade_responses["429"] = overload_answer("A test found every run slot busy and the queue full");
  grade_responses["503"] =
      overload_answer("A test queued too long, shutting down, or the sandbox is unavailable");
  doc["paths"]["/batch"]["post"] =
      post("Run many independent requests", "BatchRequest", "BatchResult",
           "One entry per item: its result, or its own {\"detail\"}",
           "runs is missing, not a list, empty or longer than server.max_batch");
}

}  // namespace pyrunner::grading
