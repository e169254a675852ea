#pragma once
/// Base64 as the original services read it: Judge0 with Ruby's Base64.decode64 and Piston with
/// Node's Buffer.from(text, "base64"). Both are lenient: characters outside the alphabet
/// (newlines, spaces) are skipped, padding is optional, and a last partial group gives the
/// bytes it holds. Node's URL-safe letters ('-', '_') are read too.

#include <string>
#include <string_view>

namespace pyrunner::compat {

std::string lenient_base64_decode(std::string_view text);

}  // namespace pyrunner::compat
