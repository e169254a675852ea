// The README's `pyrunner run` examples use files the repository ships: each runs as shown.

#include <catch2/catch.hpp>

#include "support/harness.h"

using namespace pyrunner::testing;

TEST_CASE("examples/solution.py reads examples/input.txt", "[cli]") {
  auto p = run_process({binary(), "run", "--timeout", "2", "--memory-limit", "256", "--stdin",
                        source_path("examples/input.txt"), source_path("examples/solution.py")});
  CHECK(p.exit_code == 0);
  auto result = nlohmann::json::parse(p.out);
  CHECK(result["status"] == "success");
  CHECK(result["stdout"] == "27\n81\n0\nmax 81\n");
}

TEST_CASE("examples/my.yaml is a valid config that switches the policy off", "[cli]") {
  auto p = run_process({binary(), "run", "--config", source_path("examples/my.yaml"), "-"},
                       "import os\nprint(os.getuid())");
  CHECK(p.exit_code == 0);
  CHECK(nlohmann::json::parse(p.out)["stdout"] == "65534\n");
  auto hello = run_process({binary(), "run", "--config", source_path("examples/my.yaml"),
                            source_path("examples/hello.py")});
  CHECK(hello.exit_code == 0);
  CHECK(nlohmann::json::parse(hello.out)["stdout"] == "hello from the sandbox\nnumpy says 10\n");
}

TEST_CASE("examples/where.py shows the run's home, UTF-8 and the file it wrote", "[cli]") {
  auto p = run_process({binary(), "run", "--config", source_path("examples/my.yaml"),
                        source_path("examples/where.py")});
  CHECK(p.exit_code == 0);
  auto result = nlohmann::json::parse(p.out);
  CHECK(result["stdout"] ==
        "uid 65534 cwd /home/user HOME /home/user\ncpus 1 encoding utf-8\nπ ≈ 3.14159\n");
  REQUIRE(result["files"].size() == 1);
  CHECK(result["files"][0]["path"] == "notes.txt");
}
