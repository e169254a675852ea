// The libraries a code interpreter is expected to have: they import inside runs (policy off,
// and under the default policy for every module it allows), GET / reports their versions,
// and the one that needs a network fails cleanly without one.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "core/config/config.h"
#include "support/harness.h"

using namespace pyrunner::testing;

namespace {

constexpr const char* kPolicyOff = "policy:\n  enabled: false\n";

// What code imports of each library in deps/runtime-packages.txt beyond the original six.
constexpr const char* kLibraries =
    "import seaborn, statsmodels.api, networkx, openpyxl, xlrd, plotly.express, bs4\n"
    "import lxml.etree, PIL.Image, skimage, xarray, tabulate, tqdm, sqlalchemy, requests, pytz\n"
    "print(networkx.shortest_path_length(networkx.path_graph(4), 0, 3),\n"
    "      tabulate.tabulate([[1, 2]]).count('-') > 0,\n"
    "      bs4.BeautifulSoup('<p>x</p>', 'lxml').p.text,\n"
    "      PIL.Image.new('RGB', (2, 2)).size,\n"
    "      pytz.timezone('Europe/Paris').zone)\n";
constexpr const char* kLibrariesOut = "3 True x (2, 2) Europe/Paris\n";

// No network namespace has a route or a resolver: the request must end in requests' own
// ConnectionError, quickly, not in a hang or a crash.
constexpr const char* kNoNetwork =
    "import requests\n"
    "try:\n"
    "    requests.get('http://example.com', timeout=5)\n"
    "except requests.exceptions.ConnectionError as e:\n"
    "    print(type(e).__name__)\n";

}  // namespace

TEST_CASE("the expected libraries import and work in a run", "[cli][libraries]") {
  auto config = config_file(kPolicyOff);
  auto run = run_code(kLibraries, {"--config", config.path()});
  INFO(run.result.dump());
  CHECK(run.result["status"] == "success");
  CHECK(run.result["stdout"] == kLibrariesOut);
}

TEST_CASE("requests fails cleanly: a run has no network", "[cli][libraries]") {
  auto config = config_file(kPolicyOff);
  auto caught = run_code(kNoNetwork, {"--config", config.path(), "--timeout", "20"});
  CHECK(caught.result["status"] == "success");
  CHECK(caught.result["stdout"] == "ConnectionError\n");
  auto uncaught = run_code("import requests\nrequests.get('http://example.com')",
                           {"--config", config.path(), "--timeout", "20"});
  CHECK(uncaught.result["status"] == "error");
  CHECK(uncaught.result["error"].get<std::string>().rfind("requests.exceptions.ConnectionError: ",
                                                          0) == 0);
}

TEST_CASE("every module the default policy allows imports under it", "[cli][libraries]") {
  // One run with the default config: each allowed name is installed, and the policy lets
  // it through (a name in the list that is not installed would fail here).
  std::string code;
  for (const auto& m : pyrunner::PolicyConfig{}.allowed_modules) code += "import " + m + "\n";
  code += "print('ok')\n";
  auto run = run_code(code);
  INFO(run.result.dump());
  CHECK(run.result["status"] == "success");
  CHECK(run.result["stdout"] == "ok\n");
}

TEST_CASE("through the pool: the libraries import, GET / reports their versions",
          "[serve][libraries]") {
  TestServer server(kPolicyOff);
  auto r = server.run(kLibraries);
  INFO(r.body);
  CHECK(r.json()["status"] == "success");
  CHECK(r.json()["stdout"] == kLibrariesOut);
  auto no_network = server.run(kNoNetwork, {{"timeout", 20}});
  CHECK(no_network.json()["stdout"] == "ConnectionError\n");

  auto health = server.get("/").json();
  for (const auto& name : pyrunner::PythonConfig{}.report_libraries) {
    INFO(name);
    REQUIRE(health["libraries"].contains(name));
    CHECK(!health["libraries"][name].get<std::string>().empty());
  }
  // Every name is installed (deps/runtime-packages.txt), so start-up logged none missing.
  CHECK(server.log().find("not installed") == std::string::npos);
}

TEST_CASE("an operator's directory of modules on python.module_paths imports in a run",
          "[cli][libraries]") {
  // Not under /tmp: every run has a private /tmp of its own over it. Readable by the run's
  // uid, as an operator's directory must be.
  char tmpl[] = "/var/tmp/pyrunner-modules-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  REQUIRE(chmod(dir.c_str(), 0755) == 0);
  { std::ofstream(dir + "/operator_mod.py") << "GREETING = 'from a module path'\n"; }
  REQUIRE(chmod((dir + "/operator_mod.py").c_str(), 0644) == 0);
  auto config = config_file("python:\n  module_paths: [" + dir +
                            "]\npolicy:\n  allowed_modules: [operator_mod]\n");
  auto run =
      run_code("import operator_mod\nprint(operator_mod.GREETING)", {"--config", config.path()});
  std::filesystem::remove_all(dir);
  INFO(run.result.dump());
  CHECK(run.result["status"] == "success");
  CHECK(run.result["stdout"] == "from a module path\n");
}
