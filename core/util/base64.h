#pragma once
// Standard base64 (RFC 4648, with padding), for request files and the files `run --output-dir`
// writes.

#include <optional>
#include <string>
#include <string_view>

namespace pyrunner {

std::string base64_encode(std::string_view bytes);
/// The decoded bytes, or nullopt unless `text` is canonical-length base64 (ASCII whitespace
/// between groups is ignored, as MIME allows).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace pyrunner
