#include "core/access/keys.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "support/harness.h"

namespace {

using namespace pyrunner;
using namespace std::chrono_literals;

std::string digest_hex(const std::string& text) { return hex_of(sha256(text)); }

Config config_with(const std::string& yaml) {
  auto c = parse_config(yaml, "test.yaml");
  INFO(c.status().message());
  REQUIRE(c.ok());
  return c.value();
}

}  // namespace

TEST_CASE("SHA-256 of the test vectors, and key ids", "[access]") {
  // FIPS 180-2's examples and the empty string.
  CHECK(digest_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(digest_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(digest_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(digest_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  CHECK(key_id_of(sha256("abc")) == "ba7816bf");
}

TEST_CASE("a keys file: keys, sha256 lines, comments and blank lines", "[access]") {
  const std::string abc_digest = digest_hex("abc");
  auto parsed = parse_keys_file("# operators' keys\n\n  first-key  \r\nsha256:" + abc_digest +
                                    "\n\t# indented comment\nsha256:" + std::string("BA7816BF") +
                                    abc_digest.substr(8) + "\n",
                                "keys");
  INFO(parsed.status().message());
  REQUIRE(parsed.ok());
  REQUIRE(parsed->size() == 3);
  CHECK(hex_of((*parsed)[0]) == digest_hex("first-key"));  // trimmed, \r included
  CHECK(hex_of((*parsed)[1]) == abc_digest);
  CHECK(hex_of((*parsed)[2]) == abc_digest);  // hex digits in either case
}

TEST_CASE("a keys file's errors name the line, never its text", "[access]") {
  const auto error = [](const std::string& text) {
    auto parsed = parse_keys_file(text, "/etc/keys");
    REQUIRE_FALSE(parsed.ok());
    return parsed.status().message();
  };
  CHECK(error("") == "/etc/keys: lists no key (only comments or blanks)");
  CHECK(error("# nothing\n\n") == "/etc/keys: lists no key (only comments or blanks)");
  CHECK(error("good\nsecret-part other-part\n") ==
        "/etc/keys: line 2: a key is one word of printable ASCII (no spaces or control "
        "characters); write a comment with '#'");
  CHECK(error("sha256:abc\n") == "/etc/keys: line 1: sha256: must be followed by 64 hex digits");
  CHECK(error("sha256:" + std::string(63, 'a') + "g\n") ==
        "/etc/keys: line 1: sha256: must be followed by 64 hex digits");
  CHECK(error(std::string("k\xc3\xa9y\n")).find("line 1") != std::string::npos);
  CHECK(error("secret-part other-part\n").find("secret") == std::string::npos);
}

TEST_CASE("$PYRUNNER_API_KEYS: separated by commas or white space", "[access]") {
  auto keys = parse_keys_list(" a,b  c\n,,d\t");
  REQUIRE(keys.size() == 4);
  CHECK(hex_of(keys[0]) == digest_hex("a"));
  CHECK(hex_of(keys[3]) == digest_hex("d"));
  CHECK(parse_keys_list("").empty());
  CHECK(parse_keys_list(" , ").empty());
}

TEST_CASE("the key ring finds a presented key by its digest, and nothing else", "[access]") {
  const Config config;
  KeyRing ring(config, {sha256("alpha"), sha256("beta"), sha256("alpha")});
  REQUIRE(ring.keys().size() == 2);  // the same key twice is one key
  ApiKey* beta = ring.find("beta");
  REQUIRE(beta != nullptr);
  CHECK(beta->id() == key_id_of(sha256("beta")));
  CHECK(ring.find("alpha") != nullptr);
  CHECK(ring.find("alpha") != beta);
  CHECK(ring.find("") == nullptr);
  CHECK(ring.find("Beta") == nullptr);
  CHECK(ring.find("bet") == nullptr);
  CHECK(ring.find("beta ") == nullptr);
  // Neither the digest nor the id of a key is the key.
  CHECK(ring.find(digest_hex("beta")) == nullptr);
  CHECK(ring.find("sha256:" + digest_hex("beta")) == nullptr);
  CHECK(ring.find(beta->id()) == nullptr);
}

TEST_CASE("loading keys: the file and the environment together, with clear errors", "[access]") {
  pyrunner::testing::TempFile file("# ours\nfrom-file\nsha256:" + digest_hex("hashed") + "\n",
                                   "keys");
  auto config = config_with("server: {api_keys_file: " + file.path() + "}");
  auto ring = KeyRing::load(config, "from-env, other");
  INFO(ring.status().message());
  REQUIRE(ring.ok());
  CHECK(ring.value()->keys().size() == 4);
  for (const char* key : {"from-file", "hashed", "from-env", "other"}) {
    INFO(key);
    CHECK(ring.value()->find(key) != nullptr);
  }
  CHECK(KeyRing::load(Config{}, nullptr).value()->empty());
  CHECK(KeyRing::load(Config{}, " ").value()->empty());

  auto missing = KeyRing::load(config_with("server: {api_keys_file: /nonexistent/keys}"), nullptr);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() ==
        "server.api_keys_file '/nonexistent/keys': cannot read it: ENOENT (No such file or "
        "directory)");
  pyrunner::testing::TempFile empty("\n# none yet\n", "keys");
  auto none = KeyRing::load(config_with("server: {api_keys_file: " + empty.path() + "}"), "x");
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message() ==
        "server.api_keys_file '" + empty.path() + "': lists no key (only comments or blanks)");

  auto typo =
      KeyRing::load(config_with("server: {key_overrides: {0000abcd: {sessions: 1}}}"), "some-key");
  REQUIRE_FALSE(typo.ok());
  CHECK(typo.status().message() == "server.key_overrides.0000abcd: no API key has this id");
}

TEST_CASE("overrides apply to their key only", "[access]") {
  const std::string id = key_id_of(sha256("vip"));
  auto config = config_with(
      "server:\n  max_concurrent_runs: 4\n  key_limits: {requests_per_minute: 10}\n"
      "  key_overrides: {" +
      id + ": {requests_per_minute: 1000, concurrent_runs: 4}}\n");
  auto ring = KeyRing::load(config, "vip,plain");
  REQUIRE(ring.ok());
  CHECK(ring.value()->find("vip")->limits().requests_per_minute == 1000);
  CHECK(ring.value()->find("vip")->limits().concurrent_runs == 4);
  CHECK(ring.value()->find("plain")->limits().requests_per_minute == 10);
  CHECK(ring.value()->find("plain")->limits().concurrent_runs == 2);
}

TEST_CASE("requests per minute: a token bucket whose Retry-After is when a token is back",
          "[access]") {
  KeyLimits limits;
  limits.requests_per_minute = 2;  // a token every 30 s, two at once
  ApiKey key(sha256("k"), limits);
  const auto t0 = ApiKey::Clock::now();
  CHECK(key.take_request(t0) == 0);
  CHECK(key.take_request(t0) == 0);
  CHECK(key.take_request(t0) == 30);
  CHECK(key.take_request(t0 + 10s) == 20);
  CHECK(key.take_request(t0 + 29500ms) == 1);  // half a second is rounded up
  CHECK(key.take_request(t0 + 30s) == 0);      // one token back
  CHECK(key.take_request(t0 + 30s) == 30);
  // Idle, the bucket fills up to a minute's worth, no more.
  CHECK(key.take_request(t0 + 3600s) == 0);
  CHECK(key.take_request(t0 + 3600s) == 0);
  CHECK(key.take_request(t0 + 3600s) == 30);

  limits.requests_per_minute = 0;  // no limit
  ApiKey unlimited(sha256("u"), limits);
  for (int i = 0; i < 10000; ++i) REQUIRE(unlimited.take_request(t0) == 0);
}

TEST_CASE("concurrent runs are counted while a KeyRun lives, up to the limit", "[access]") {
  KeyLimits limits;
  limits.concurrent_runs = 2;
  ApiKey key(sha256("k"), limits);
  CHECK(key.retry_after_run_s() == 1);  // nothing known yet
  {
    KeyRun a(&key), b(&key);
    CHECK(a.ok());
    CHECK(b.ok());
    CHECK(key.runs() == 2);
    KeyRun c(&key);
    CHECK_FALSE(c.ok());
    CHECK(key.runs() == 2);  // a refused run is not counted, nor uncounted when it goes
  }
  CHECK(key.runs() == 0);
  KeyRun d(&key);
  CHECK(d.ok());
  KeyRun none(nullptr);  // no keys: always allowed
  CHECK(none.ok());
  ApiKey fresh(sha256("f"), limits);
  REQUIRE(fresh.start_run());
  fresh.end_run(7.2);
  CHECK(fresh.retry_after_run_s() == 8);  // the runs' recent mean, rounded up
  REQUIRE(fresh.start_run());
  fresh.end_run(17.2);
  CHECK(fresh.retry_after_run_s() == 9);  // 0.9 * 7.2 + 0.1 * 17.2 = 8.2
}

TEST_CASE("the presented key: Bearer (any case) first, else X-API-Key", "[access]") {
  CHECK(presented_key("Bearer abc", "") == "abc");
  CHECK(presented_key("bearer  abc ", "") == "abc");
  CHECK(presented_key("BEARER abc", "xyz") == "abc");
  CHECK(presented_key("", " xyz ") == "xyz");
  CHECK(presented_key("Basic YWxhZGRpbjpvcGVuc2VzYW1l", "xyz") == "xyz");
  CHECK(presented_key("Basic YWxhZGRpbjpvcGVuc2VzYW1l", "") == "");
  CHECK(presented_key("Bearer", "") == "");
  CHECK(presented_key("", "") == "");
}
