#include "core/http/route.h"

#include <nlohmann/json.hpp>

namespace pyrunner {

std::string HttpRequest::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

std::string HttpRequest::param(const std::string& name, const std::string& fallback) const {
  auto it = params.find(name);
  return it == params.end() ? fallback : it->second;
}

void HttpResponse::set_header(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
}

void HttpResponse::json(int s, std::string text) {
  status = s;
  body = std::move(text);
  content_type = "application/json";
}

void HttpResponse::error(int s, const std::string& detail, int retry_after) {
  json(s, error_body(detail));
  if (retry_after > 0) set_header("Retry-After", std::to_string(retry_after));
}

std::string error_body(const std::string& detail) {
  // Replace invalid UTF-8 (a path or a parse error quoting the body): dump() would throw.
  return nlohmann::ordered_json{{"detail", detail}}.dump(
      -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace pyrunner
