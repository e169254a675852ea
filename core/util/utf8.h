#pragma once

#include <string>
#include <string_view>

namespace pyrunner {

/// Replaces every invalid UTF-8 sequence with U+FFFD, so the text always encodes as JSON.
std::string sanitize_utf8(std::string_view in);
/// True when `in` is valid UTF-8.
bool is_valid_utf8(std::string_view in);

}  // namespace pyrunner
