#include "core/util/utf8.h"

#include <catch2/catch.hpp>

using pyrunner::is_valid_utf8;
using pyrunner::sanitize_utf8;

TEST_CASE("valid UTF-8 passes through unchanged", "[utf8]") {
  for (const char* s :
       {"", "ascii", "\xc3\xa9t\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf"}) {
    CHECK(is_valid_utf8(s));
    CHECK(sanitize_utf8(s) == s);
  }
}

TEST_CASE("invalid sequences become U+FFFD", "[utf8]") {
  const std::string r = "\xEF\xBF\xBD";
  CHECK(sanitize_utf8("\xff") == r);
  CHECK(sanitize_utf8("\xc0\x80") == r + r);                  // overlong NUL
  CHECK(sanitize_utf8("\xed\xa0\x80") == r + r + r);          // a surrogate
  CHECK(sanitize_utf8("\xf4\x90\x80\x80") == r + r + r + r);  // above U+10FFFF
  CHECK(sanitize_utf8("a\xe2\x82") == "a" + r + r);           // truncated at the end
  CHECK_FALSE(is_valid_utf8("\xe2\x28\xa1"));
}
