#pragma once
// The pieces every part of the OpenAPI document is written with (core/http/openapi.cc and the
// add_openapi of compat, grading, sessions and streaming): one spelling of a schema reference,
// a JSON answer, and an answer that says when to try again.

#include <nlohmann/json.hpp>

namespace pyrunner::openapi {

using nlohmann::ordered_json;

/// {"$ref": "#/components/schemas/<schema>"}.
ordered_json ref(const char* schema);

/// A media-type map with one entry: application/json of `schema`.
ordered_json json_content(const ordered_json& schema);

/// A response: `description`, and a JSON body of `schema`.
ordered_json answer(const char* description, const ordered_json& schema);

/// A response whose body is the Error schema ({"detail": ...}).
ordered_json error_answer(const char* description);

/// `answer` that may be tried again later: a Retry-After header says when.
ordered_json retry_answer(const char* description, const ordered_json& schema);

/// `error_answer` with Retry-After: a 429 or a 503 of a busy server.
ordered_json overload_answer(const char* description);

}  // namespace pyrunner::openapi
