// The isolation report of GET / and the start-up log: built from the plan and the clone flags,
// so a layer that is taken away disappears from the report too. And the report against what
// a run itself sees (its /proc/self), through `pyrunner run`.

#include "core/http/isolation.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/sandbox/namespaces.h"
#include "core/sandbox/plan.h"
#include "support/harness.h"
#include "support/sandbox_view.h"

namespace {

using pyrunner::Config;
using pyrunner::isolation_report;
using pyrunner::isolation_summary;
using pyrunner::sandbox::HostSandbox;
using pyrunner::sandbox::namespace_clone_flags;

HostSandbox host_with_plan() {
  HostSandbox host;
  auto plan = pyrunner::sandbox::build_plan(Config{});
  REQUIRE(plan.ok());
  host.plan = std::move(plan.value());
  host.cgroup_text = "v1 (test)";
  return host;
}

const std::vector<std::string> kEveryNamespace = {"pid", "mount", "network",
                                                  "ipc", "uts",   "cgroup"};

}  // namespace

TEST_CASE("one table gives the clone flags and the names of the run's namespaces", "[sandbox]") {
  const int flags = namespace_clone_flags();
  for (int flag :
       {CLONE_NEWPID, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP}) {
    INFO(std::hex << flag);
    CHECK((flags & flag) == flag);
  }
  CHECK((flags & CLONE_NEWUSER) == 0);  // uid 65534 with no capabilities instead
  CHECK(pyrunner::sandbox::namespace_names(flags) == kEveryNamespace);
  CHECK(pyrunner::sandbox::namespace_flag_names(flags) ==
        "CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWIPC|CLONE_NEWUTS|CLONE_NEWCGROUP");
  CHECK(pyrunner::sandbox::namespace_names(CLONE_NEWUTS | CLONE_NEWPID) ==
        std::vector<std::string>{"pid", "uts"});
  CHECK(pyrunner::sandbox::namespace_flag_names(0).empty());
}

TEST_CASE("the isolation report follows the clone flags and the plan", "[sandbox][http]") {
  const auto host = host_with_plan();
  Config config;
  auto full = isolation_report(host, config, namespace_clone_flags());
  INFO(full.dump());
  CHECK(full["namespaces"] == kEveryNamespace);
  CHECK(full["seccomp"] == true);
  CHECK(full["no_new_privs"] == true);
  CHECK(full["capabilities"] == "none");
  CHECK(full["uid"] == 65534);
  CHECK(full["cgroup"] == "v1 (test)");
  CHECK(full["degraded"] == false);
  CHECK(full["static_policy"] == true);
  CHECK(isolation_summary(host, namespace_clone_flags()) ==
        "namespaces pid,mount,network,ipc,uts,cgroup; seccomp on; uid 65534; cgroup v1 (test)");

  SECTION("a namespace taken out of the flags is not reported") {
    auto report = isolation_report(host, config, namespace_clone_flags() & ~CLONE_NEWNET);
    CHECK(report["namespaces"] == std::vector<std::string>{"pid", "mount", "ipc", "uts", "cgroup"});
    CHECK(isolation_summary(host, 0).rfind("namespaces none; ", 0) == 0);
  }
  SECTION("a plan without a seccomp filter reports neither seccomp nor no_new_privs") {
    auto bare = host_with_plan();
    bare.plan.seccomp_filter.clear();
    auto report = isolation_report(bare, config, namespace_clone_flags());
    CHECK(report["seccomp"] == false);
    CHECK(report["no_new_privs"] == false);
    CHECK(isolation_summary(bare, namespace_clone_flags()).find("; seccomp off; ") !=
          std::string::npos);
  }
  SECTION("uid, cgroup, degraded and the policy come from the plan, the host and the config") {
    auto other = host_with_plan();
    other.plan.uid = 4242;
    other.cgroup_text = "none: no delegation";
    other.degraded = true;
    config.policy.enabled = false;
    auto report = isolation_report(other, config, namespace_clone_flags());
    CHECK(report["uid"] == 4242);
    CHECK(report["cgroup"] == "none: no delegation");
    CHECK(report["degraded"] == true);
    CHECK(report["static_policy"] == false);
  }
}

TEST_CASE("a run through `pyrunner run` is in new namespaces with seccomp and no_new_privs",
          "[cli][sandbox]") {
  using namespace pyrunner::testing;
  auto config = config_file("policy:\n  enabled: false\n");
  auto run = run_code(kSandboxViewProgram, {"--config", config.path()});
  INFO(run.process.out << run.process.err);
  REQUIRE(run.result.is_object());
  REQUIRE(run.result["status"] == "success");
  auto view = parse_sandbox_view(run.result["stdout"]);
  REQUIRE(view.is_object());
  // `pyrunner run` clones the run from itself, and it shares every namespace with us.
  CHECK(new_namespaces(view, {getpid()}) == kEveryNamespace);
  CHECK(view["NoNewPrivs"] == "1");
  CHECK(view["Seccomp"] == "2");  // filter mode
  CHECK(view["CapEff"] == "0000000000000000");
  CHECK(view["Uid"] == "65534");
}
