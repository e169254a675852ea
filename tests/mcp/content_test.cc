// What a run becomes as MCP content (core/mcp/content.h): exact texts, images, isError,
// structuredContent without the bytes content carries.

#include "core/mcp/content.h"

#include <catch2/catch.hpp>

namespace {

using pyrunner::Outcome;
using pyrunner::RunResult;
using pyrunner::mcp::run_result_content;
using pyrunner::mcp::RunNotes;
using json = nlohmann::ordered_json;

std::vector<std::string> texts(const json& result) {
  std::vector<std::string> out;
  for (const auto& item : result["content"])
    out.push_back(item["type"] == "text" ? item["text"].get<std::string>()
                                         : "<" + item["type"].get<std::string>() + ">");
  return out;
}

}  // namespace

TEST_CASE("a successful run: stdout, the last value as Out[n], figures as images", "[mcp]") {
  RunResult r;
  r.outcome = Outcome::kSuccess;
  r.stdout_text = "hello\n";
  r.results = json::array(
      {{{"type", "display"},
        {"data",
         {{"image/png", "iVBORw0KGgo="}, {"text/plain", "<Figure size 640x480 with 1 Axes>"}}},
        {"metadata", {{"image/png", {{"width", 640}, {"height", 480}}}}}},
       {{"type", "display"}, {"data", {{"text/plain", "   a\n0  1"}, {"text/html", "<table>"}}}},
       {{"type", "execute_result"}, {"data", {{"text/plain", "45"}}}}});
  RunNotes notes;
  notes.execution_count = 3;
  auto out = run_result_content(r, notes, true);
  CHECK(out["isError"] == false);
  CHECK(texts(out) ==
        std::vector<std::string>{"stdout:\nhello\n", "<image>", "   a\n0  1", "Out[3]: 45"});
  CHECK(out["content"][1] ==
        json{{"type", "image"}, {"data", "iVBORw0KGgo="}, {"mimeType", "image/png"}});
  const json& s = out["structuredContent"];
  CHECK(s["status"] == "success");
  CHECK(s["stdout"] == "hello\n");
  CHECK(s["execution_count"] == 3);
  CHECK_FALSE(s["results"][0]["data"].contains("image/png"));  // carried as image content
  CHECK(s["results"][0]["data"]["text/plain"] == "<Figure size 640x480 with 1 Axes>");
  CHECK_FALSE(run_result_content(r, notes, false).contains("structuredContent"));
}

TEST_CASE("a failed run: stderr apart from the traceback, isError", "[mcp]") {
  RunResult r;
  r.outcome = Outcome::kError;
  r.exit_code = 1;
  r.error = "ZeroDivisionError: division by zero";
  r.stderr_text =
      "a warning\nTraceback (most recent call last):\n  File \"main.py\", line 1, in "
      "<module>\nZeroDivisionError: division by zero\n";
  r.exception = {{"name", "ZeroDivisionError"},
                 {"value", "division by zero"},
                 {"traceback",
                  {"Traceback (most recent call last):", "  File \"main.py\", line 1, in <module>",
                   "ZeroDivisionError: division by zero"}}};
  auto out = run_result_content(r, RunNotes{}, true);
  CHECK(out["isError"] == true);
  CHECK(texts(out) ==
        std::vector<std::string>{
            "stderr:\na warning\n",
            "exception:\nTraceback (most recent call last):\n  File \"main.py\", line "
            "1, in <module>\nZeroDivisionError: division by zero\n"});
  CHECK(out["structuredContent"]["exception"]["name"] == "ZeroDivisionError");
}

TEST_CASE("timeouts, memory, truncation, files and session endings are said", "[mcp]") {
  RunResult r;
  r.outcome = Outcome::kTimeout;
  r.error = "Execution timed out after 2 s";
  r.truncated = true;
  r.files = json::array(
      {{{"path", "out/a.csv"}, {"size", 2048}, {"mime", "text/csv"}, {"content", "YQ=="}}});
  auto out = run_result_content(r, RunNotes{}, true);
  CHECK(
      texts(out) ==
      std::vector<std::string>{
          "timeout: Execution timed out after 2 s (interrupted; the session's variables are kept)",
          "[truncated: output past the caps (stdout and stderr each, and displayed items) was cut]",
          "files created or changed (read them with read_file):\n  out/a.csv (2 KiB, text/csv)"});
  CHECK(out["structuredContent"]["files"][0]["content"].is_null());
  CHECK(out["structuredContent"]["files"][0]["omitted"] == "read_file");

  RunResult m;
  m.outcome = Outcome::kMemoryExceeded;
  m.error = "Memory limit of 512 MB exceeded";
  RunNotes notes;
  notes.session_ended = "the kernel's OOM killer ended it (memory limit 512 MB)";
  notes.previous_ended = "expired: idle for 600 s";
  CHECK(texts(run_result_content(m, notes, false)) ==
        std::vector<std::string>{
            "[a new session: the previous one ended (expired: idle for 600 s); its variables, "
            "imports and files are gone]",
            "memory_exceeded: Memory limit of 512 MB exceeded",
            "[the session ended: the kernel's OOM killer ended it (memory limit 512 MB). The next "
            "run_python starts a new one: variables, imports and files are gone]"});

  RunResult quiet;
  quiet.outcome = Outcome::kSuccess;
  CHECK(texts(run_result_content(quiet, RunNotes{}, false)) ==
        std::vector<std::string>{"(no output)"});
}

TEST_CASE("the output schema is JSON Schema: nullable becomes a null type", "[mcp]") {
  auto schema = pyrunner::mcp::run_output_schema();
  CHECK(schema["type"] == "object");
  CHECK(schema["properties"]["error"]["type"] == json::array({"string", "null"}));
  CHECK(schema["properties"]["exception"]["type"] == json::array({"object", "null"}));
  CHECK(schema.dump().find("nullable") == std::string::npos);
  CHECK(schema["properties"].contains("execution_count"));
}

TEST_CASE("read_file's content by what the bytes are", "[mcp]") {
  using pyrunner::mcp::file_result_content;
  CHECK(file_result_content("a.txt", "text/plain", "π = 3.14\n")["content"][0] ==
        json{{"type", "text"}, {"text", "π = 3.14\n"}});
  CHECK(file_result_content("p.png", "image/png", "\x89PNG")["content"][0]["type"] == "image");
  auto blob =
      file_result_content("my data.bin", "application/octet-stream", std::string("\0\xff", 2));
  CHECK(blob["content"][0]["type"] == "resource");
  CHECK(blob["content"][0]["resource"]["blob"] == "AP8=");
  CHECK(blob["content"][0]["resource"]["uri"] == "file:///home/user/my%20data.bin");
}
