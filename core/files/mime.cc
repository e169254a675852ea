#include "core/files/mime.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace pyrunner {
namespace {

// What code interpreters write most; the same types Python's mimetypes gives them.
constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
    {"txt", "text/plain"},
    {"log", "text/plain"},
    {"csv", "text/csv"},
    {"tsv", "text/tab-separated-values"},
    {"json", "application/json"},
    {"html", "text/html"},
    {"htm", "text/html"},
    {"md", "text/markdown"},
    {"py", "text/x-python"},
    {"xml", "text/xml"},
    {"yaml", "application/yaml"},
    {"yml", "application/yaml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"svg", "image/svg+xml"},
    {"webp", "image/webp"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"xls", "application/vnd.ms-excel"},
    {"parquet", "application/vnd.apache.parquet"},
    {"npy", "application/octet-stream"},
};

}  // namespace

std::string mime_type_of(std::string_view path) {
  const auto slash = path.rfind('/');
  const auto name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "application/octet-stream";
  std::string ext(name.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& [e, type] : kTypes) {
    if (e == ext) return std::string(type);
  }
  return "application/octet-stream";
}

}  // namespace pyrunner
