// The runner's record on the control channel ("R\n" when ready, then "D {json}\n").

#include "core/executor/record.h"

#include <catch2/catch.hpp>

using pyrunner::parse_record;

TEST_CASE("the record after the ready line gives every field", "[executor]") {
  auto r = parse_record(
      "R\nD {\"exit_code\": 3, \"error\": \"ValueError: bad\", \"memory_error\": true, "
      "\"time\": 0.25}\n");
  CHECK(r.present);
  CHECK(r.exit_code == 3);
  CHECK(r.error == "ValueError: bad");
  CHECK(r.memory_error);
  CHECK(r.time == 0.25);
}

TEST_CASE("missing record fields keep their defaults", "[executor]") {
  auto r = parse_record("D {}\n");
  CHECK(r.present);
  CHECK(r.exit_code == 0);
  CHECK(r.error.empty());
  CHECK_FALSE(r.memory_error);
  CHECK(r.time == -1);
  // A null error (a successful run) is no error text.
  CHECK(parse_record("D {\"error\": null}\n").error.empty());
  CHECK(parse_record("D {\"error\": null}\n").present);
}

TEST_CASE("no record, or an incomplete or broken one, is absent", "[executor]") {
  CHECK_FALSE(parse_record("").present);
  CHECK_FALSE(parse_record("R\n").present);
  CHECK_FALSE(parse_record("R\nD {\"exit_code\": 1}").present);          // its '\n' not read yet
  CHECK_FALSE(parse_record("R\nD {\"exit_code\": \n").present);          // not JSON
  CHECK_FALSE(parse_record("R\nD {\"exit_code\": \"one\"}\n").present);  // wrong type
}

TEST_CASE("a record must start a line", "[executor]") {
  CHECK_FALSE(parse_record("RD {\"exit_code\": 1}\n").present);
  CHECK(parse_record("D {\"exit_code\": 1}\n").exit_code == 1);  // at the very start
}

TEST_CASE("the last record counts", "[executor]") {
  auto r = parse_record("R\nD {\"exit_code\": 1}\nD {\"exit_code\": 2}\n");
  CHECK(r.present);
  CHECK(r.exit_code == 2);
}
