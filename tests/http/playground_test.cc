// GET /playground (core/http/playground.cc): the page and its files with their headers, the
// config switch, and the page itself driven in headless Chromium against a real server
// (tests/http/playground/browser.mjs, puppeteer-core with Debian's chromium, installed by
// `make playground-browser`). The script reports what the page showed; the assertions are here.

#include <httplib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>

#include "support/harness.h"
#include "support/openapi_producers.h"

namespace {

using namespace pyrunner::testing;
using nlohmann::json;

constexpr const char* kPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src data: blob: 'self'; "
    "connect-src 'self'; frame-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

// What the browser test's runs import, preloaded; the rest of the stack is not needed.
constexpr const char* kBrowserConfig =
    "python:\n  preload: [numpy, pandas, matplotlib, matplotlib.pyplot]\n";

httplib::Result get(const TestServer& s, const std::string& path, httplib::Headers headers = {}) {
  httplib::Client client("127.0.0.1", s.port());
  return client.Get(path, headers);
}

std::filesystem::path browser_dir() {
  return std::filesystem::path(binary()).parent_path() / "playground-browser";
}

const RegisterProducers kProducers({
    {"GET /playground 200", [](const TestServer& s) { return s.get("/playground"); }},
    {"GET /playground/{file} 200",
     [](const TestServer& s) { return s.get("/playground/playground.js"); }},
});

// Runs browser.mjs SCENARIO URL ARG and parses what it reported.
json drive(const TestServer& s, const std::string& scenario, const std::string& arg) {
  INFO("puppeteer-core is installed by `make playground-browser` (make test runs it)");
  REQUIRE(std::filesystem::exists(browser_dir() / "browser.mjs"));
  const auto started = std::chrono::steady_clock::now();
  auto p = run_process({"/usr/bin/env", "node", (browser_dir() / "browser.mjs").string(), scenario,
                        "http://127.0.0.1:" + std::to_string(s.port()), arg},
                       "", {}, 300);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  INFO("exit " << p.exit_code << "\nstdout: " << p.out.substr(0, 4000) << "\nstderr: "
               << p.err.substr(0, 6000) << "\nserver log: " << s.log().substr(0, 3000));
  REQUIRE(p.exit_code == 0);
  auto j = json::parse(p.out, nullptr, false);
  REQUIRE(j.is_object());
  WARN("browser scenario " << scenario << ": " << took.count() << " ms, phases (ms since start) "
                           << j["timing"].dump());
  return j;
}

}  // namespace

TEST_CASE("GET /playground: the page and its files, under a strict policy", "[serve][playground]") {
  TestServer s("python:\n  preload: []\n");  // 127.0.0.1: on by default
  auto page = get(s, "/playground");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Type") == "text/html; charset=utf-8");
  CHECK(page->get_header_value("Content-Security-Policy") == kPolicy);
  CHECK(page->get_header_value("X-Content-Type-Options") == "nosniff");
  CHECK(page->get_header_value("X-Frame-Options") == "DENY");
  CHECK(page->get_header_value("Referrer-Policy") == "no-referrer");
  CHECK(page->get_header_value("Cache-Control") == "no-cache");
  // The page loads exactly its own script and styles, by relative URLs, and nothing inline.
  CHECK(page->body.find("<script src=\"playground/playground.js\" defer></script>") !=
        std::string::npos);
  CHECK(page->body.find("href=\"playground/playground.css\"") != std::string::npos);
  CHECK(page->body.find("<script>") == std::string::npos);
  CHECK(page->body.find("style=") == std::string::npos);
  CHECK(page->body.find("http") == std::string::npos);  // nothing from elsewhere

  const std::string etag = page->get_header_value("ETag");
  REQUIRE(etag.size() == 18);
  auto again = get(s, "/playground", {{"If-None-Match", etag}});
  REQUIRE(again);
  CHECK(again->status == 304);
  CHECK(again->body.empty());
  CHECK(again->get_header_value("ETag") == etag);

  for (const auto& [file, type] : std::vector<std::pair<std::string, std::string>>{
           {"playground.js", "text/javascript; charset=utf-8"},
           {"playground.css", "text/css; charset=utf-8"},
           {"frame.css", "text/css; charset=utf-8"}}) {
    INFO(file);
    auto r = get(s, "/playground/" + file);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Type") == type);
    CHECK(r->get_header_value("X-Content-Type-Options") == "nosniff");
    CHECK(r->body.size() > 500);
    CHECK(r->get_header_value("ETag") != etag);
  }
  CHECK(get(s, "/playground/index.html")->status == 404);  // the page has one address
  CHECK(s.get("/playground/nope.js").status == 404);
  CHECK(s.post("/playground", "{}").status == 405);

  auto doc = s.get("/openapi.json").json();
  CHECK(doc["paths"].contains("/playground"));
  CHECK(doc["paths"]["/playground/{file}"]["get"]["parameters"][0]["schema"]["enum"] ==
        json::array({"playground.js", "playground.css", "frame.css"}));
}

TEST_CASE("server.playground: false serves no page", "[serve][playground]") {
  TestServer s("python:\n  preload: []\nserver:\n  playground: false\n");
  auto page = s.get("/playground");
  CHECK(page.status == 404);
  CHECK(page.json()["detail"] == "no route for GET /playground");
  CHECK(s.get("/playground/playground.js").status == 404);
  auto doc = s.get("/openapi.json").json();
  CHECK_FALSE(doc["paths"].contains("/playground"));
  CHECK_FALSE(doc["paths"].contains("/playground/{file}"));
  CHECK(s.run("print(1)").json()["stdout"] == "1\n");  // the API itself is unchanged
}

TEST_CASE("the playground in headless Chromium against a real server",
          "[serve][playground][browser]") {
  TestServer s(kBrowserConfig);
  const std::string screenshot =
      (std::filesystem::path(binary()).parent_path() / "playground.png").string();
  std::filesystem::remove(screenshot);
  const json j = drive(s, "main", screenshot);
  INFO(j.dump(2).substr(0, 12000));

  // The page as the browser got it, and nothing it did failed.
  CHECK(j["page"]["status"] == 200);
  CHECK(j["page"]["headers"]["content-security-policy"] == kPolicy);
  CHECK(j["page"]["headers"]["x-content-type-options"] == "nosniff");
  CHECK(j["page"]["title"] == "pyrunner playground");
  CHECK(j["pageErrors"] == json::array());
  CHECK(j["consoleErrors"] == json::array());
  // The limits inputs carry the server's limits (GET /).
  CHECK(j["limits"]["timeout"] == json({{"min", "1"}, {"max", "300"}, {"value", "30"}}));
  CHECK(j["limits"]["memory"] == json({{"min", "64"}, {"max", "2048"}, {"value", "512"}}));
  CHECK(j["limits"]["server"].get<std::string>().find("pyrunner ") == 0);
  CHECK(j["examples"].size() == 12);  // the placeholder and eleven examples

  // Typed with the editor's keys, run with Ctrl+Enter; printed HTML stays text.
  CHECK(j["typed"] ==
        "for i in range(3):\n    print(i * i)\nprint('<b>not bold</b>')\nif True:\n"
        "    print('tabbed')");
  const auto& typed = j["typedRun"];
  CHECK(typed["status"] == "success");
  CHECK(typed["statusText"] == "Success");
  CHECK(typed["stdout"] == "0\n1\n4\n<b>not bold</b>\ntabbed\n");
  CHECK(typed["bold"] == 0);
  CHECK(typed["statsShown"] == true);
  CHECK(typed["exit"] == "0");
  CHECK(typed["memory"].get<std::string>().find(" MB") != std::string::npos);
  CHECK(typed["count"].is_null());  // a one-off run has no execution count

  // The exception with its traceback, shown once (not again on stderr).
  const auto& exc = j["exception"];
  CHECK(exc["status"] == "error");
  CHECK(exc["exit"] == "1");
  CHECK(exc["stdout"] == "before\n");
  CHECK(exc["exception"] == "ZeroDivisionError: division by zero");
  CHECK(exc["traceback"].get<std::string>().find("line 2, in ratio") != std::string::npos);
  CHECK(exc["stderr"] == "");

  // A figure: decoded, 600x350 px (figsize 6x3.5 at the default 100 dpi).
  CHECK(j["plotRun"]["status"] == "success");
  CHECK(j["figure"]["naturalWidth"] == 600);
  CHECK(j["figure"]["naturalHeight"] == 350);
  CHECK(j["figure"]["scheme"] == "data:image/png;base64,");
  CHECK(j["figure"]["alt"].get<std::string>().find("Figure size 600x350") != std::string::npos);

  // A DataFrame's table inside the sandboxed frame, styled by frame.css (its margin).
  CHECK(j["dataframeRun"]["status"] == "success");
  CHECK(j["dataframe"]["sandbox"] == "");
  CHECK(j["dataframe"]["rows"] == 4);
  CHECK(j["dataframe"]["headers"] ==
        json::array({"", "city", "population_k", "elevation_m", "density_rank"}));
  CHECK(j["dataframe"]["firstCity"] == "Lisbon");
  CHECK(j["dataframe"]["styled"] == "8px");

  // HTML with a <script> and an onerror handler: rendered, and neither ran.
  CHECK(j["scriptRun"]["status"] == "success");
  CHECK(j["script"]["rendered"] == "rendered");
  CHECK(j["script"]["pageTitle"] == "pyrunner playground");
  CHECK(j["script"]["frameTitle"] == "");
  CHECK(j["script"]["pwned"] == "undefined");
  CHECK(j["script"]["sandbox"] == "");
  bool sandbox_refused = false;  // what the browser said in the frame: the sandbox held
  for (const auto& m : j["frameMessages"])
    sandbox_refused |= m.get<std::string>().find(
                           "Blocked script execution in 'about:srcdoc' "
                           "because the document's frame is sandboxed") == 0;
  CHECK(sandbox_refused);

  // Files written: blob download links, and the download has what the run wrote.
  CHECK(j["filesRun"]["status"] == "success");
  CHECK(j["files"] ==
        json::array({{{"text", "notes.txt"}, {"download", "notes.txt"}, {"scheme", "blob"}},
                     {{"text", "squares.csv"}, {"download", "squares.csv"}, {"scheme", "blob"}}}));
  CHECK(j["downloadedName"] == "squares.csv");
  CHECK(j["downloadedCsv"] == "x,square\n0,0\n1,1\n2,4\n3,9\n4,16\n");

  // A session keeps state across runs; reset starts a fresh interpreter.
  CHECK(j["session1"]["stdout"] == "defined\n");
  CHECK(j["session1"]["count"] == "1");
  CHECK(j["sessionInfo"].get<std::string>().find("Session ") == 0);
  CHECK(j["session2"]["status"] == "success");
  CHECK(j["session2"]["values"] == json::array({"42"}));
  CHECK(j["session2"]["count"] == "2");
  CHECK(j["afterReset"]["status"] == "error");
  CHECK(j["afterReset"]["exception"] == "NameError: name 'x' is not defined");
  CHECK(j["afterReset"]["count"] == "1");
  CHECK(s.get("/sessions").json()["sessions"].empty());  // reset and the mode switch ended both

  // A timeout over the server's maximum is refused by the page, before any request.
  CHECK(j["outOfRange"]["valid"] == false);

  // A phone-sized screen: nothing wider than the screen.
  CHECK(j["phone"]["scrollWidth"] <= j["phone"]["innerWidth"]);
  CHECK(j["phone"]["runVisible"] == true);
  CHECK(std::filesystem::file_size(screenshot) > 20000);
}

TEST_CASE("the playground with API keys: the page is open, its runs need the key",
          "[serve][playground][browser][access]") {
  constexpr const char* kKey = "playground-key-5d41402abc";
  TestServer s(kBrowserConfig, {std::string("PYRUNNER_API_KEYS=") + kKey});
  REQUIRE(s.run("print(1)").status == 401);  // the API needs the key...
  const json j = drive(s, "keys", kKey);     // ...the page does not
  INFO(j.dump(2).substr(0, 8000));
  CHECK(j["page"]["status"] == 200);
  CHECK(j["pageErrors"] == json::array());
  CHECK(j["limits"] == "300");  // GET / is open: the limits came
  CHECK(j["noKey"]["status"] == "failed");
  CHECK(j["noKey"]["statusText"].get<std::string>().find("HTTP 401: ") == 0);
  CHECK(j["noKey"]["statusText"].get<std::string>().find("(this server needs an API key)") !=
        std::string::npos);
  CHECK(j["focused"] == "api-key");
  CHECK(j["wrongKey"]["statusText"].get<std::string>().find("(the API key was refused)") !=
        std::string::npos);
  CHECK(j["withKey"]["status"] == "success");
  CHECK(j["withKey"]["stdout"] == "with a key\n");
  CHECK(j["stored"]["session"] == kKey);  // session storage, and nothing in local storage
  CHECK(j["stored"]["local"] == 0);
  CHECK(j["restored"] == kKey);  // a reload in the same tab keeps it
  CHECK(j["session1"]["status"] == "success");
  CHECK(j["session2"]["values"] == json::array({"10"}));
  CHECK(j["session2"]["count"] == "2");
}

TEST_CASE("the playground streams: output is on the page while the run goes on",
          "[serve][playground][browser][stream]") {
  TestServer s(kBrowserConfig);
  const json j = drive(s, "stream", "");
  INFO(j.dump(2).substr(0, 8000));
  CHECK(j["pageErrors"] == json::array());
  CHECK(j["consoleErrors"] == json::array());
  // "first line" was shown while the page still counted the run as running (browser.mjs
  // waits for exactly that); then Stop ended it, and the server killed it.
  CHECK(j["whileRunning"]["status"] == "running");
  CHECK(j["whileRunning"]["stopEnabled"] == true);
  CHECK(j["stopped"]["status"] == "stopped");
  CHECK(j["stopped"]["stdout"] == "first line\n");
  CHECK(j["timeout"]["status"] == "timeout");
  CHECK(j["timeout"]["stdout"] == "partial\n");
  CHECK(j["timeoutNote"] == "Execution timed out after 2 s");
  // Streamed display and execute_result events, each shown once (not again from the result).
  CHECK(j["displays"]["status"] == "success");
  CHECK(j["displays"]["stdout"] == "plotting\n");
  CHECK(j["displays"]["values"] == json::array({"42"}));
  CHECK(j["figures"] == 1);
  // A session's run streams too; Stop interrupts it (POST /sessions/{id}/interrupt): the
  // streamed result shows the KeyboardInterrupt, and the same session, with what the stopped
  // run had set, runs the next code.
  CHECK(j["session1"]["stdout"] == "session 1\n");
  CHECK(j["session1"]["count"] == "1");
  CHECK(j["sessionStopped"]["status"] == "stopped");
  CHECK(j["sessionStopped"]["statusText"] == "Stopped: the session keeps its state");
  CHECK(j["sessionStopped"]["stdout"] == "first line\n");
  CHECK(j["sessionStopped"]["exception"] == "KeyboardInterrupt");
  CHECK(j["sessionStopped"]["count"] == "2");
  CHECK(j["sessionInfo"] == j["sessionInfoBefore"]);  // "Session <id> · 512 MB": the same one
  CHECK(j["session2"]["status"] == "success");
  CHECK(j["session2"]["stdout"] == "again 2\n");
  CHECK(j["session2"]["count"] == "3");
  CHECK(s.get("/sessions").json()["sessions"].size() <= 1);  // no second one (the page may have
                                                             // ended its own as it closed)
}
