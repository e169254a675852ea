#include "core/http/openapi_parts.h"

#include <string>

namespace pyrunner::openapi {

ordered_json ref(const char* schema) {
  return {{"$ref", std::string("#/components/schemas/") + schema}};
}

ordered_json json_content(const ordered_json& schema) {
  return {{"application/json", {{"schema", schema}}}};
}

ordered_json answer(const char* description, const ordered_json& schema) {
  return {{"description", description}, {"content", json_content(schema)}};
}

ordered_json error_answer(const char* description) { return answer(description, ref("Error")); }

ordered_json retry_answer(const char* description, const ordered_json& schema) {
  auto a = answer(description, schema);
  a["headers"] = {
      {"Retry-After",
       {{"schema", {{"type", "integer"}}}, {"description", "Seconds to wait before retrying"}}}};
  return a;
}

ordered_json overload_answer(const char* description) {
  return retry_answer(description, ref("Error"));
}

}  // namespace pyrunner::openapi
