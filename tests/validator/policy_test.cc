// The static policy check on its own: core/runner/policy.py run by /usr/bin/python3 on a list of
// programs, each with the exact message it must produce (or none).

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/config/config.h"
#include "support/harness.h"

namespace {

using nlohmann::json;

// Reads {"programs": [...], "allowed": [...], "denied": [...]} on stdin and prints the list of
// check_policy results (null where the program passes).
constexpr const char* kDriver = R"PY(
import json, sys
args = json.load(sys.stdin)
out = [check_policy(compile(p, "<test>", "exec", 0x400), args["allowed"], args["denied"])
       for p in args["programs"]]
print(json.dumps(out))
)PY";

// The verdict for each program, with the default config's lists.
std::vector<json> check(const std::vector<std::string>& programs) {
  const pyrunner::PolicyConfig defaults;
  json input = {{"programs", programs},
                {"allowed", defaults.allowed_modules},
                {"denied", defaults.denied_builtins}};
  std::ifstream file(pyrunner::testing::source_path("core/runner/policy.py"));
  std::stringstream policy;
  policy << file.rdbuf();
  const std::string source = policy.str() + kDriver;
  auto r = pyrunner::testing::run_process({"/usr/bin/python3", "-I", "-c", source}, input.dump());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto out = json::parse(r.out);
  REQUIRE(out.size() == programs.size());
  return out.get<std::vector<json>>();
}

}  // namespace

TEST_CASE("the policy passes allowed imports and ordinary code", "[validator]") {
  auto verdicts = check({
      "import numpy as np\nprint(np.arange(3))",
      "import numpy.linalg\nfrom math import sqrt\nfrom collections import abc",
      "x = 'import os; eval(1)'\nprint(x)",  // only in a string
      "def f():\n    return sum(i * i for i in range(3))\nprint(f())",
  });
  for (const auto& v : verdicts) CHECK(v.is_null());
}

TEST_CASE("the policy names the import or builtin and its line", "[validator]") {
  auto verdicts = check({
      "import os",
      "import numpy\nimport os.path",
      "from subprocess import run",
      "from . import sibling",
      "\n\nx = eval('1')",
      "import sys\nsys.modules['os'].__import__('x')",
      "def f():\n    class C:\n        def g(self):\n            import socket\n",
      "import numpy as np, ctypes",
  });
  CHECK(verdicts[0] == "Import of 'os' is not allowed (line 1)");
  CHECK(verdicts[1] == "Import of 'os.path' is not allowed (line 2)");
  CHECK(verdicts[2] == "Import of 'subprocess' is not allowed (line 1)");
  CHECK(verdicts[3] == "Relative import is not allowed (line 1)");
  CHECK(verdicts[4] == "Use of 'eval' is not allowed (line 3)");
  CHECK(verdicts[5] == "Use of '__import__' is not allowed (line 2)");  // as an attribute too
  CHECK(verdicts[6] == "Import of 'socket' is not allowed (line 4)");   // nested anywhere
  CHECK(verdicts[7] == "Import of 'ctypes' is not allowed (line 1)");
}

TEST_CASE("with several violations the policy reports the first line", "[validator]") {
  auto verdicts = check({"x = 1\nexec('x')\nimport os\n", "import os\nexec('x')\n"});
  CHECK(verdicts[0] == "Use of 'exec' is not allowed (line 2)");
  CHECK(verdicts[1] == "Import of 'os' is not allowed (line 1)");
}

TEST_CASE("the default lists: everyday modules in, the host, processes and network out",
          "[validator]") {
  // What ordinary scientific and teaching code imports (issue: locale was refused).
  const std::vector<std::string> allowed = {
      "import locale, string, textwrap, decimal, fractions, csv, enum, abc, warnings",
      "import zoneinfo, hashlib, base64, struct, uuid, contextlib, numbers, statistics",
      "import pathlib, tempfile, shutil, glob, zipfile, gzip, sqlite3, logging, unittest",
      "import sys\nn = int(sys.stdin.readline())\nsys.setrecursionlimit(10000)",
      "import seaborn, statsmodels.api, networkx, openpyxl, xlrd, plotly.express, bs4",
      "import lxml.etree, PIL.Image, skimage, xarray, tabulate, tqdm, sqlalchemy, pytz",
      "from mpl_toolkits.mplot3d import Axes3D\nfrom dateutil import parser",
  };
  for (const auto& v : check(allowed)) CHECK(v.is_null());
  // The original design's refusals: they reach the host, start processes or threads, use the
  // network (there is none), or reach into the interpreter (an import or code by another name).
  const std::vector<std::string> refused = {"os",
                                            "subprocess",
                                            "socket",
                                            "ssl",
                                            "http.client",
                                            "urllib.request",
                                            "requests",
                                            "ctypes",
                                            "multiprocessing",
                                            "threading",
                                            "concurrent.futures",
                                            "signal",
                                            "importlib",
                                            "builtins",
                                            "pickle",
                                            "marshal",
                                            "inspect",
                                            "pty",
                                            "platform",
                                            "asyncio"};
  std::vector<std::string> programs;
  for (const auto& m : refused) programs.push_back("import " + m);
  auto verdicts = check(programs);
  for (size_t i = 0; i < refused.size(); ++i) {
    INFO(refused[i]);
    CHECK(verdicts[i] == "Import of '" + refused[i] + "' is not allowed (line 1)");
  }
}
