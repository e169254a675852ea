// Rich results, files in and out, and structured exceptions: the real binary, through `serve`
// with the warm pool on and off (the same runner, forked from the zygote or started cold).
// Hostile programs are here too: what they write, link, display or forge on the control
// channel must stay within the caps and never make pyrunner read outside the run.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support/harness.h"
#include "support/processes.h"

namespace {

using namespace pyrunner::testing;
using nlohmann::json;

constexpr const char* kPolicyOff = "policy:\n  enabled: false\n";

const TestServer& warm_server() {
  static TestServer s(kPolicyOff);
  return s;
}

const TestServer& cold_server() {
  static TestServer s(std::string(kPolicyOff) + "pool:\n  enabled: false\n");
  return s;
}

json run_ok(const TestServer& s, const std::string& code, json fields = json::object()) {
  auto r = s.run(code, std::move(fields));
  INFO(r.body.substr(0, 2000));
  REQUIRE(r.status == 200);
  return r.json();
}

std::string b64(const std::string& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 |
                 (unsigned char)bytes[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += alphabet[(v >> s) & 63];
  }
  if (i < bytes.size()) {
    unsigned v = (unsigned char)bytes[i] << 16;
    if (i + 1 < bytes.size()) v |= (unsigned char)bytes[i + 1] << 8;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Width and height from a base64 PNG's IHDR chunk (the first 32 base64 characters hold it).
std::pair<int, int> png_size(const std::string& base64_png) {
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  unsigned v = 0;
  int bits = 0;
  for (char c : base64_png.substr(0, 32)) {
    v = v << 6 | static_cast<unsigned>(alphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes += static_cast<char>((v >> bits) & 0xFF);
    }
  }
  REQUIRE(bytes.substr(0, 8) == "\x89PNG\r\n\x1a\n");
  auto be32 = [&](size_t at) {
    return (unsigned char)bytes[at] << 24 | (unsigned char)bytes[at + 1] << 16 |
           (unsigned char)bytes[at + 2] << 8 | (unsigned char)bytes[at + 3];
  };
  return {be32(16), be32(20)};
}

}  // namespace

TEST_CASE("figures, tables and display() come back as MIME bundles", "[serve][results]") {
  for (const TestServer* s : {&warm_server(), &cold_server()}) {
    SECTION(s == &warm_server() ? "pool on" : "pool off") {
      auto plot = run_ok(*s, "import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])");
      INFO(plot.dump().substr(0, 1000));
      CHECK(plot["status"] == "success");
      CHECK(plot["stderr"] == "");  // no "non-GUI backend" warning
      REQUIRE(plot["results"].size() == 2);
      const auto& figure = plot["results"][0];
      CHECK(figure["type"] == "display");
      CHECK(figure["data"]["text/plain"] == "<Figure size 640x480 with 1 Axes>");
      CHECK(png_size(figure["data"]["image/png"]) == std::pair<int, int>{640, 480});
      CHECK(figure["metadata"]["image/png"] == json({{"width", 640}, {"height", 480}}));
      // The value of the last expression (the artists plot() returned) comes after the figure.
      CHECK(plot["results"][1]["type"] == "execute_result");
      CHECK(plot["results"][1]["data"]["text/plain"].get<std::string>().rfind(
                "[<matplotlib.lines.Line2D", 0) == 0);

      auto table = run_ok(*s, "import pandas as pd\npd.DataFrame({'a': [1, 2]})");
      REQUIRE(table["results"].size() == 1);
      CHECK(table["results"][0]["type"] == "execute_result");
      CHECK(table["results"][0]["data"]["text/plain"] == "   a\n0  1\n1  2");
      CHECK(table["results"][0]["data"]["text/html"].get<std::string>().find("<table") !=
            std::string::npos);
      CHECK(table["stdout"] == "");  // displaying never writes to stdout

      auto mixed = run_ok(*s,
                          "import sympy as sp\n"
                          "import matplotlib.pyplot as plt\n"
                          "display(sp.Symbol('x') ** 2)\n"
                          "fig = plt.figure()\nplt.plot([1, 2])\nplt.show()\n"
                          "class C:\n"
                          "    def _repr_markdown_(self): return '# hi'\n"
                          "display(C(), 'plain')\n"
                          "7;\n");  // a semicolon hides the value
      REQUIRE(mixed["results"].size() == 4);
      CHECK(mixed["results"][0]["data"]["text/latex"] == "$\\displaystyle x^{2}$");
      CHECK(mixed["results"][1]["data"].contains("image/png"));
      CHECK(mixed["results"][2]["data"]["text/markdown"] == "# hi");
      CHECK(mixed["results"][3]["data"] == json({{"text/plain", "'plain'"}}));
    }
  }
}

TEST_CASE("an uncaught exception is structured, without pyrunner's frames", "[serve][results]") {
  for (const TestServer* s : {&warm_server(), &cold_server()}) {
    SECTION(s == &warm_server() ? "pool on" : "pool off") {
      auto r = run_ok(*s, "def f():\n    return 1 / 0\nprint('before')\nf()");
      CHECK(r["status"] == "error");
      CHECK(r["error"] == "ZeroDivisionError: division by zero");
      const auto& e = r["exception"];
      CHECK(e["name"] == "ZeroDivisionError");
      CHECK(e["value"] == "division by zero");
      const json expected = {"Traceback (most recent call last):",
                             "  File \"main.py\", line 4, in <module>",
                             "    f()",
                             "  File \"main.py\", line 2, in f",
                             "    return 1 / 0",
                             "           ~~^~~",
                             "ZeroDivisionError: division by zero"};
      CHECK(e["traceback"] == expected);
      CHECK(r["stderr"].get<std::string>().find("<pyrunner>") == std::string::npos);

      auto syntax = run_ok(*s, "print('x'");
      CHECK(syntax["exception"]["name"] == "SyntaxError");
      CHECK(syntax["error"] == "SyntaxError: '(' was never closed");
      CHECK(syntax["exception"]["traceback"][0] == "  File \"main.py\", line 1");

      auto ok = run_ok(*s, "print(1)");
      CHECK(ok["exception"].is_null());
      CHECK(ok["results"] == json::array());
      CHECK(ok["files"] == json::array());
    }
  }
}

TEST_CASE("files given with the request are there; files the run writes come back",
          "[serve][results]") {
  for (const TestServer* s : {&warm_server(), &cold_server()}) {
    SECTION(s == &warm_server() ? "pool on" : "pool off") {
      json files = {{{"path", "in.csv"}, {"content", "x\n1\n2\n"}},
                    {{"path", "data/blob.bin"},
                     {"content", b64(std::string("\0\1\2\xff", 4))},
                     {"encoding", "base64"}}};
      auto r = run_ok(*s,
                      "import pandas as pd, os\n"
                      "print(pd.read_csv('in.csv').x.sum())\n"
                      "print(open('data/blob.bin', 'rb').read())\n"
                      "open('out.txt', 'w').write('done')\n"
                      "os.makedirs('plots', exist_ok=True)\n"
                      "open('/mnt/data/plots/é.txt', 'w').write('π')\n",
                      {{"files", files}});
      INFO(r.dump());
      CHECK(r["status"] == "success");
      CHECK(r["stdout"] == "3\nb'\\x00\\x01\\x02\\xff'\n");
      const json expected = {
          {{"path", "out.txt"}, {"size", 4}, {"mime", "text/plain"}, {"content", "ZG9uZQ=="}},
          {{"path", "plots/é.txt"}, {"size", 2}, {"mime", "text/plain"}, {"content", "z4A="}}};
      CHECK(r["files"] == expected);  // inputs left alone are not listed
      CHECK(r["files_truncated"] == false);
    }
  }
}

TEST_CASE("bad files items are 422 naming the item", "[serve][results]") {
  const auto& s = warm_server();
  const std::pair<json, std::string> cases[] = {
      {json::object(), "files: must be a list"},
      {json::array({"x"}), "files[0]: must be an object"},
      {json::array({{{"content", "x"}}}), "files[0].path: field required"},
      {json::array({{{"path", 3}, {"content", "x"}}}), "files[0].path: must be a string"},
      {json::array({{{"path", "/etc/passwd"}, {"content", "x"}}}),
       "files[0].path: must be relative"},
      {json::array({{{"path", "a/../../b"}, {"content", "x"}}}),
       "files[0].path: must not contain '..'"},
      {json::array({{{"path", ""}, {"content", "x"}}}), "files[0].path: must not be empty"},
      {json::array({{{"path", "a//b"}, {"content", "x"}}}),
       "files[0].path: must not have empty parts ('//' or a trailing '/')"},
      {json::array({{{"path", "a"}, {"content", "x"}}, {{"path", "a"}, {"content", "y"}}}),
       "files[1].path: duplicate of files[0].path"},
      {json::array({{{"path", "a"}, {"content", "x"}}, {{"path", "a/b"}, {"content", "y"}}}),
       "files[1].path: 'a' is a file in one item and a directory in the other (files[0].path)"},
      {json::array({{{"path", "a"}}}), "files[0].content: field required"},
      {json::array({{{"path", "a"}, {"content", "!!"}, {"encoding", "base64"}}}),
       "files[0].content: is not valid base64"},
      {json::array({{{"path", "a"}, {"content", "x"}, {"encoding", "latin1"}}}),
       "files[0].encoding: must be 'utf8' or 'base64' (got 'latin1')"},
  };
  for (const auto& [files, detail] : cases) {
    auto r = s.run("print(1)", {{"files", files}});
    INFO(files.dump());
    CHECK(r.status == 422);
    CHECK(r.json()["detail"] == detail);
  }
  json many = json::array();
  for (int i = 0; i < 101; ++i)
    many.push_back({{"path", "f" + std::to_string(i)}, {"content", ""}});
  auto r = s.run("print(1)", {{"files", many}});
  CHECK(r.status == 422);
  CHECK(r.json()["detail"] == "files: at most 100 files (got 101)");
  const std::string path_with_nul("a\0b", 3);
  r = s.run("print(1)", {{"files", json::array({{{"path", path_with_nul}, {"content", "x"}}})}});
  CHECK(r.status == 422);
  CHECK(r.json()["detail"] == "files[0].path: must not contain NUL");
}

TEST_CASE("hostile files stay within the caps and are never followed", "[serve][results]") {
  for (const TestServer* s : {&warm_server(), &cold_server()}) {
    SECTION(s == &warm_server() ? "pool on" : "pool off") {
      // 10 000 files: the first 100 by path, and the flag.
      auto many = run_ok(*s, "for i in range(10000):\n    open(f'f{i:05}', 'w').write('x')\n",
                         {{"timeout", 60}});
      CHECK(many["status"] == "success");
      CHECK(many["files"].size() == 100);
      CHECK(many["files"][0]["path"] == "f00000");
      CHECK(many["files_truncated"] == true);

      // Over the per-file cap: listed without content. Links to host files, a FIFO, a
      // device: never listed, never read (a FIFO would block the listing).
      auto hostile = run_ok(*s,
                            "import os\n"
                            "open('big.bin', 'wb').write(b'x' * (2 << 20))\n"
                            "for i, target in enumerate(('/etc/passwd', '/proc/1/environ',"
                            " '/usr/bin/python3', '/work', '/proc/self/root', '.')):\n"
                            "    os.symlink(target, f'link{i}')\n"
                            "os.mkfifo('fifo')\n"
                            "open(b'caf\\xe9.txt', 'wb').write(b'latin-1 name')\n");
      INFO(hostile.dump().substr(0, 3000));
      CHECK(hostile["status"] == "success");
      REQUIRE(hostile["files"].size() == 2);
      CHECK(hostile["files"][0] == json({{"path", "big.bin"},
                                         {"size", 2 << 20},
                                         {"mime", "application/octet-stream"},
                                         {"content", nullptr},
                                         {"omitted", "too large"}}));
      CHECK(hostile["files"][1]["path"] == "caf\xEF\xBF\xBD.txt");
    }
  }
}

TEST_CASE("hostile display and forged control messages leave the server serving",
          "[serve][results]") {
  const auto& s = warm_server();
  // A _repr_html_ that raises, and one that returns 100 MB: text/plain only, truncated.
  auto reprs = run_ok(s,
                      "class Raises:\n"
                      "    def _repr_html_(self): raise RuntimeError('boom')\n"
                      "class Huge:\n"
                      "    def _repr_html_(self): return 'x' * (100 << 20)\n"
                      "    def __repr__(self): return 'Huge()'\n"
                      "display(Raises())\n"
                      "display(Huge())\n");
  CHECK(reprs["status"] == "success");
  REQUIRE(reprs["results"].size() == 2);
  CHECK(reprs["results"][0]["data"].size() == 1);
  CHECK(reprs["results"][1]["data"] == json({{"text/plain", "Huge()"}}));
  CHECK(reprs["truncated"] == true);
  CHECK(reprs["stderr"].get<std::string>().find("Raises._repr_html_ raised RuntimeError: boom") !=
        std::string::npos);

  // A figure whose rendering raises: the run goes on, the figure keeps its text/plain.
  auto figure = run_ok(s,
                       "import matplotlib.pyplot as plt\n"
                       "fig = plt.figure()\n"
                       "fig.add_subplot().plot([1, 2])\n"
                       "fig.savefig = lambda *a, **k: 1 / 0\n"
                       "print('after')\n");
  CHECK(figure["status"] == "success");
  CHECK(figure["stdout"] == "after\n");
  REQUIRE(figure["results"].size() == 1);
  CHECK(figure["results"][0]["data"] ==
        json({{"text/plain", "<Figure size 640x480 with 1 Axes>"}}));
  CHECK(figure["stderr"].get<std::string>().find(
            "display: Figure.savefig raised ZeroDivisionError") != std::string::npos);

  // A repr that never ends: the timeout, as for any other code.
  auto endless = run_ok(s,
                        "class Endless:\n"
                        "    def __repr__(self):\n"
                        "        while True: pass\n"
                        "Endless()\n",
                        {{"timeout", 2}});
  CHECK(endless["status"] == "timeout");

  // Forged control lines: deep nesting, junk, a fake file outside the working directory, and
  // 64 MB without a newline. Nothing of it is kept beyond the caps; the real record still
  // decides.
  auto forged =
      run_ok(s,
             "import os\n"
             "os.write(3, b'M ' + b'[' * 200000 + b'\\n')\n"
             "os.write(3, b'M {\"type\": \"display\", \"data\": {\"text/plain\": 5}}\\n')\n"
             "os.write(3, b'\\xff\\xfe garbage\\nD {\"exit_code\": \"x\"}\\n')\n"
             "os.write(3, b'F {\"path\": \"../../etc/passwd\", \"size\": 1, \"mime\": "
             "\"text/plain\", \"content\": \"eA==\"}\\n')\n"
             "chunk = b'z' * (1 << 20)\n"
             "for _ in range(64):\n"
             "    os.write(3, chunk)\n"
             "os.write(3, b'\\n')\n"
             "print('still here')\n");
  INFO(forged.dump().substr(0, 2000));
  CHECK(forged["status"] == "success");
  CHECK(forged["stdout"] == "still here\n");
  CHECK(forged["results"] == json::array());
  // A file outside the working directory is never listed, whatever the program claims.
  CHECK(forged["files"] == json::array());
  CHECK(run_ok(s, "print(1)")["stdout"] == "1\n");
}

TEST_CASE("`run --file` and `--output-dir` bring files in and figures out", "[cli][results]") {
  TempFile data("x\n1\n2\n", "data.csv");
  TempFile script(
      "import pandas as pd, matplotlib.pyplot as plt\n"
      "df = pd.read_csv('data.csv')\n"
      "df.to_csv('out/sum.csv')\n" /* a subdirectory that does not exist: an error */,
      "analysis.py");
  const std::string out_dir = std::filesystem::path(script.path()).parent_path() / "out";
  // The script's own name in tracebacks, as python3 shows it.
  auto failing = run_process({binary(), "run", "--file", data.path(), script.path()});
  auto failed = json::parse(failing.out);
  CHECK(failed["exception"]["traceback"][1] == "  File \"analysis.py\", line 3, in <module>");

  TempFile good(
      "import pandas as pd, matplotlib.pyplot as plt\n"
      "df = pd.read_csv('in/data.csv')\n"
      "df.to_csv('sum.csv')\n"
      "plt.plot(df.x)\n"
      "fig = plt.figure(figsize=(2, 1))\n"
      "fig.add_subplot().plot([1])\n"
      "fig\n",  // shown once, as the execute_result
      "good.py");
  auto run = run_process({binary(), "run", "--file", data.path() + ":in/data.csv", "--output-dir",
                          out_dir, good.path()});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 0);
  auto r = json::parse(run.out);
  const json expected = {
      {{"path", "sum.csv"}, {"size", 11}, {"mime", "text/csv"}, {"content", nullptr}},
      {{"path", "figure-1.png"},
       {"size", std::filesystem::file_size(out_dir + "/figure-1.png")},
       {"mime", "image/png"},
       {"content", nullptr}},
      {{"path", "figure-2.png"},
       {"size", std::filesystem::file_size(out_dir + "/figure-2.png")},
       {"mime", "image/png"},
       {"content", nullptr}}};
  CHECK(r["files"] == expected);
  REQUIRE(r["results"].size() == 2);
  CHECK(r["results"][0]["metadata"]["image/png"]["filename"] == "figure-1.png");
  CHECK(r["results"][1]["type"] == "execute_result");
  CHECK(r["results"][1]["metadata"]["image/png"]["filename"] == "figure-2.png");
  CHECK_FALSE(r["results"][0]["data"].contains("image/png"));
  std::ifstream csv(out_dir + "/sum.csv");
  std::stringstream text;
  text << csv.rdbuf();
  CHECK(text.str() == ",x\n0,1\n1,2\n");
  std::ifstream png(out_dir + "/figure-2.png", std::ios::binary);
  std::string header(24, '\0');
  png.read(header.data(), 24);
  CHECK(header.substr(1, 3) == "PNG");
  CHECK((unsigned char)header[19] == 200);  // 2 in at 100 dpi
  CHECK((unsigned char)header[23] == 100);
  std::filesystem::remove_all(out_dir);

  // A forged file name can never make `run` write outside the output directory.
  TempFile forger(
      "import os\n"
      "for p in ('../escaped.txt', '/tmp/escaped-abs.txt', 'a/../../escaped2.txt'):\n"
      "    os.write(3, ('F {\"path\": \"%s\", \"size\": 1, \"mime\": \"text/plain\", "
      "\"content\": \"eA==\"}\\n' % p).encode())\n",
      "forger.py");
  auto policy_off = config_file(kPolicyOff);
  auto forged = run_process(
      {binary(), "run", "--config", policy_off.path(), "--output-dir", out_dir, forger.path()});
  CHECK(forged.exit_code == 0);
  const auto parent = std::filesystem::path(out_dir).parent_path();
  CHECK_FALSE(std::filesystem::exists(parent / "escaped.txt"));
  CHECK_FALSE(std::filesystem::exists(parent.parent_path() / "escaped2.txt"));
  CHECK_FALSE(std::filesystem::exists("/tmp/escaped-abs.txt"));
  CHECK(std::filesystem::is_empty(out_dir));
  std::filesystem::remove_all(out_dir);
}

TEST_CASE("examples/client.py sends files and saves figures and files", "[serve][results]") {
  const auto& s = warm_server();
  TempFile data("x\n1\n2\n", "data.csv");
  TempFile script(
      "import pandas as pd, matplotlib.pyplot as plt\n"
      "df = pd.read_csv('data.csv')\n"
      "df.describe().to_csv('summary.csv')\n"
      "plt.plot(df.x)\n",
      "analysis.py");
  const std::string out = std::filesystem::path(script.path()).parent_path() / "saved";
  auto client = run_process({"/usr/bin/python3", source_path("examples/client.py"), "--url",
                             "http://127.0.0.1:" + std::to_string(s.port()), "--file", data.path(),
                             "--save", out, script.path()});
  INFO(client.out << client.err);
  CHECK(client.exit_code == 0);
  CHECK(json::parse(client.out)["status"] == "success");
  CHECK(std::filesystem::file_size(out + "/figure-1.png") > 1000);
  CHECK(std::filesystem::file_size(out + "/summary.csv") > 10);
  std::filesystem::remove_all(out);
}

TEST_CASE("`run SCRIPT -- ARGS` gives the program its sys.argv", "[cli][results]") {
  TempFile script("import sys\nprint(sys.argv)\n", "argv.py");
  auto config = config_file(kPolicyOff);
  auto none = run_process({binary(), "run", "--config", config.path(), script.path()});
  CHECK(json::parse(none.out)["stdout"] == "['argv.py']\n");
  auto some = run_process(
      {binary(), "run", "--config", config.path(), script.path(), "--", "a b", "--timeout", "é"});
  CHECK(json::parse(some.out)["stdout"] == "['argv.py', 'a b', '--timeout', 'é']\n");
}
