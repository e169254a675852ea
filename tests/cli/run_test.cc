// `pyrunner run`: the real binary, its JSON result and its exit codes.

#include <catch2/catch.hpp>

#include "support/harness.h"

using namespace pyrunner::testing;

namespace {

constexpr const char* kPolicyOff = "policy:\n  enabled: false\n";

}  // namespace

TEST_CASE("the six classic cases end as intended", "[cli]") {
  SECTION("a math print succeeds") {
    auto run = run_code("print(2 + 2)");
    CHECK(run.process.exit_code == 0);
    CHECK(run.result["status"] == "success");
    CHECK(run.result["stdout"] == "4\n");
    CHECK(run.result["error"].is_null());
    CHECK(run.result["exit_code"] == 0);
    CHECK(run.result["memory_used"].get<double>() > 0);
  }
  SECTION("sympy expand and factor succeed") {
    auto run = run_code(
        "import sympy as sp\nx = sp.symbols('x')\nprint(sp.expand((x + "
        "1)**2))\nprint(sp.factor(x**2 - 1))");
    CHECK(run.result["status"] == "success");
    CHECK(run.result["stdout"] == "x**2 + 2*x + 1\n(x - 1)*(x + 1)\n");
  }
  SECTION("numpy mean, std, cumsum succeed") {
    auto run = run_code(
        "import numpy as np\na = np.array([1, 2, 3, 4])\nprint(a.mean(), a.std(), "
        "a.cumsum().tolist())");
    CHECK(run.result["status"] == "success");
    CHECK(run.result["stdout"] == "2.5 1.118033988749895 [1, 3, 6, 10]\n");
  }
  SECTION("division by zero is an error naming ZeroDivisionError") {
    auto run = run_code("print('before')\n1/0");
    CHECK(run.process.exit_code == 1);
    CHECK(run.result["status"] == "error");
    CHECK(run.result["error"] == "ZeroDivisionError: division by zero");
    CHECK(run.result["exit_code"] == 1);
    CHECK(run.result["stdout"] == "before\n");
    CHECK(run.result["stderr"].get<std::string>().find("File \"main.py\", line 2") !=
          std::string::npos);
  }
  SECTION("a sleep past the timeout is a timeout with the partial output") {
    auto run =
        run_code("import time\nprint('partial', flush=True)\ntime.sleep(35)", {"--timeout", "2"});
    CHECK(run.process.exit_code == 2);
    CHECK(run.result["status"] == "timeout");
    CHECK(run.result["error"] == "Execution timed out after 2 s");
    CHECK(run.result["stdout"] == "partial\n");
    CHECK(run.result["execution_time"].get<double>() >= 2.0);
  }
  SECTION("an untouched allocation beyond the limit is memory_exceeded") {
    auto run = run_code("import numpy as np\na = np.zeros((1000, 1000, 100))\nprint(a.shape)",
                        {"--memory-limit", "256"});
    CHECK(run.process.exit_code == 3);
    CHECK(run.result["status"] == "memory_exceeded");
    CHECK(run.result["error"] == "Memory limit of 256 MB exceeded");
  }
  SECTION("a touched allocation beyond the limit is memory_exceeded too") {
    auto run = run_code("import numpy as np\na = np.ones((1000, 1000, 100))\nprint(a.sum())",
                        {"--memory-limit", "256"});
    CHECK(run.result["status"] == "memory_exceeded");
  }
}

TEST_CASE("memory growth past the limit through the cgroup is memory_exceeded", "[cli]") {
  // /tmp is a tmpfs charged to the run's cgroup, not to RLIMIT_DATA: this one ends in the
  // kernel's OOM killer rather than MemoryError.
  auto config = config_file("sandbox:\n  tmp_size_mb: 512\n" + std::string(kPolicyOff));
  auto run = run_code(
      "chunk = b'x' * (1 << 20)\nfor i in range(10):\n    with open(f'/tmp/fill{i}', 'wb') as f:\n "
      "       for _ in range(32):\n            f.write(chunk)",
      {"--config", config.path(), "--memory-limit", "128"});
  CHECK(run.result["status"] == "memory_exceeded");
  CHECK(run.result["exit_code"] == -9);
}

TEST_CASE("code, stdin and files", "[cli]") {
  SECTION("a script file") {
    TempFile script("print('from a file')", "hello.py");
    auto p = run_process({binary(), "run", script.path()});
    CHECK(p.exit_code == 0);
    CHECK(nlohmann::json::parse(p.out)["stdout"] == "from a file\n");
  }
  SECTION("--stdin feeds the program") {
    TempFile input("3\n4\n", "input.txt");
    auto run =
        run_code("a = int(input())\nb = int(input())\nprint(a * b)", {"--stdin", input.path()});
    CHECK(run.result["stdout"] == "12\n");
  }
  SECTION("a large stdin is fed while output is read") {
    std::string big(3 << 20, 'a');
    TempFile input(big, "big.txt");
    auto run = run_code("import sys\nprint(len(sys.stdin.read()))", {"--stdin", input.path()});
    CHECK(run.result["stdout"] == std::to_string(big.size()) + "\n");
  }
  SECTION("examples/hello.py runs") {
    auto p = run_process({binary(), "run", source_path("examples/hello.py")});
    CHECK(p.exit_code == 0);
    CHECK(nlohmann::json::parse(p.out)["status"] == "success");
  }
}

TEST_CASE("output is capped and flagged, invalid UTF-8 replaced", "[cli]") {
  auto config = config_file("limits:\n  max_output_bytes: 1000\n" + std::string(kPolicyOff));
  auto run = run_code("print('x' * 5000)\nimport sys\nsys.stderr.write('e' * 3000)",
                      {"--config", config.path()});
  CHECK(run.result["status"] == "success");
  CHECK(run.result["truncated"] == true);
  CHECK(run.result["stdout"].get<std::string>().size() == 1000);
  CHECK(run.result["stderr"].get<std::string>().size() == 1000);

  auto bad = run_code("import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe\\n')",
                      {"--config", config.path()});
  CHECK(bad.result["stdout"] == "ok \xEF\xBF\xBD\xEF\xBF\xBD\n");
  CHECK(bad.result["truncated"] == false);
}

TEST_CASE("the static policy: clear early errors, and off means off", "[cli]") {
  auto denied = run_code("import math\nimport subprocess\nsubprocess.run(['ls'])");
  CHECK(denied.process.exit_code == 1);
  CHECK(denied.result["status"] == "error");
  CHECK(denied.result["error"] == "Import of 'subprocess' is not allowed (line 2)");

  CHECK(run_code("from os import path").result["error"] ==
        "Import of 'os' is not allowed (line 1)");
  CHECK(run_code("x = eval('1')").result["error"] == "Use of 'eval' is not allowed (line 1)");
  CHECK(run_code("import socket").result["error"] == "Import of 'socket' is not allowed (line 1)");
  CHECK(run_code("import ctypes").result["error"] == "Import of 'ctypes' is not allowed (line 1)");
  for (const char* ok :
       {"import math, time, io, json, re, itertools, collections, dataclasses, typing",
        "import random, statistics, datetime\nfrom collections import Counter",
        "import numpy, pandas, sympy, scipy.linalg, sklearn.linear_model, matplotlib.pyplot"}) {
    INFO(ok);
    CHECK(run_code(std::string(ok) + "\nprint('ok')").result["status"] == "success");
  }

  auto config = config_file(kPolicyOff);
  auto allowed = run_code("import os\nprint(os.getuid())", {"--config", config.path()});
  CHECK(allowed.result["status"] == "success");
  CHECK(allowed.result["stdout"] == "65534\n");
}

TEST_CASE("the static policy lets a program import its own files, checked the same way", "[cli]") {
  // A program given as several files (Piston sends them so; --file, "files" in a request).
  TempFile helper("import math\n\ndef area(r):\n    return round(math.pi * r * r, 2)\n",
                  "geometry.py");
  auto ok = run_code("from geometry import area\nprint(area(1))", {"--file", helper.path()});
  CHECK(ok.result["status"] == "success");
  CHECK(ok.result["stdout"] == "3.14\n");

  TempFile sneaky("import os\nos.system('id')\n", "tools.py");
  auto refused = run_code("import tools", {"--file", sneaky.path()});
  CHECK(refused.result["status"] == "error");
  CHECK(refused.result["error"] ==
        "Import of 'tools' is not allowed (line 1): tools.py: Import of 'os' is not allowed "
        "(line 1)");
  // A module the program would write itself is not there when the check runs: still refused.
  CHECK(run_code("open('later.py', 'w').write('x = 1')\nimport later").result["error"] ==
        "Import of 'later' is not allowed (line 2)");
}

TEST_CASE("syntax errors and exits", "[cli]") {
  auto syntax = run_code("x = (\n");
  CHECK(syntax.result["status"] == "error");
  CHECK(syntax.result["error"] == "SyntaxError: '(' was never closed");
  CHECK(run_code("import sys\nsys.exit(0)").result["status"] == "success");
  auto three = run_code("import sys\nsys.exit(3)");
  CHECK(three.result["status"] == "error");
  CHECK(three.result["exit_code"] == 3);
  CHECK(three.result["error"] == "Exited with code 3");
  CHECK(run_code("raise KeyError('k')").result["error"] == "KeyError: 'k'");
}

TEST_CASE("usage, input and config errors exit 64+ with the reason on stderr", "[cli]") {
  auto no_args = run_process({binary(), "run"});
  CHECK(no_args.exit_code == 64);
  CHECK(run_process({binary(), "run", "--timeout"}).exit_code == 64);  // the flag without a value
  CHECK(run_process({binary(), "frobnicate"}).exit_code == 64);

  auto missing = run_process({binary(), "run", "/nonexistent.py"});
  CHECK(missing.exit_code == 66);
  CHECK(missing.err == "pyrunner: cannot read script '/nonexistent.py'\n");

  auto range = run_process({binary(), "run", "--timeout", "0", "-"}, "print(1)");
  CHECK(range.exit_code == 65);
  CHECK(range.err == "pyrunner: timeout: must be between 1 and 300 (got 0)\n");
  CHECK(run_process({binary(), "run", "-"}, "").exit_code == 65);
  // A limit that is not an integer is an invalid request, as in a POST /run body.
  CHECK(run_process({binary(), "run", "--timeout", "x", "-"}, "print(1)").exit_code == 65);

  auto config = config_file("limits:\n  max_timout: 3\n");
  auto bad = run_process({binary(), "run", "--config", config.path(), "-"}, "print(1)");
  CHECK(bad.exit_code == 78);
  CHECK(bad.err == "pyrunner: config " + config.path() + ": limits.max_timout: unknown key\n");

  auto from_env =
      run_process({binary(), "run", "-"}, "print(1)", {"PYRUNNER_CONFIG=" + config.path()});
  CHECK(from_env.exit_code == 78);
}

TEST_CASE("--version and --help", "[cli]") {
  auto version = run_process({binary(), "--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.rfind("pyrunner ", 0) == 0);
  auto help = run_process({binary(), "run", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("--memory-limit") != std::string::npos);
}

TEST_CASE("root without CAP_DAC_OVERRIDE, as in a container, runs in the working directory",
          "[cli]") {
  // Docker's root has neither CAP_DAC_OVERRIDE nor CAP_DAC_READ_SEARCH: it may not enter the
  // run's working directory (the run's user's). The run enters it as that user.
  auto p = run_process(
      {"/usr/bin/setpriv", "--bounding-set=-dac_override,-dac_read_search", binary(), "run", "-"},
      "open('out.txt', 'w').write('saved')\nprint(open('out.txt').read())\n");
  INFO(p.out << p.err);
  REQUIRE(p.exit_code == 0);
  CHECK(nlohmann::json::parse(p.out)["stdout"] == "saved\n");  // the root is read-only
}
