// The Judge0 drop-in (v1.13, Python only): a Judge0 client's flows over plain HTTP exactly as
// Judge0's documentation shows them (there is no official Judge0 client package on npm), the
// mapping field by field, and bad input, against the real server.

#include "core/compat/judge0.h"

#include <catch2/catch.hpp>
#include <thread>

#include "core/compat/lenient_base64.h"
#include "core/compat/zip.h"
#include "core/util/base64.h"
#include "support/harness.h"
#include "support/openapi_producers.h"

namespace {

using namespace pyrunner::testing;
using nlohmann::json;

// The static policy off: what is tested here is the mapping, and the programs below use os,
// ctypes and their own modules (the policy applies to these routes as to POST /run).
constexpr const char* kConfig =
    "server:\n  max_concurrent_runs: 2\n  max_batch: 5\npython:\n  preload: []\n"
    "policy:\n  enabled: false\n";

const TestServer& server() {
  static TestServer s(kConfig);
  return s;
}

json post(const std::string& path, const json& body, int status) {
  auto r = server().post(path, body.dump());
  INFO("POST " << path << " -> " << r.status << " " << r.body.substr(0, 500));
  REQUIRE(r.status == status);
  return r.json();
}

json get(const std::string& path, int status = 200) {
  auto r = server().get(path);
  INFO("GET " << path << " -> " << r.status << " " << r.body.substr(0, 500));
  REQUIRE(r.status == status);
  return r.json();
}

// A zip archive made by Python's zipfile: {name: content}, with `links` as symlinks.
std::string make_zip(const json& files, const json& links = json::object()) {
  const char* maker = R"(
import io, json, sys, zipfile, base64
files, links = json.loads(sys.argv[1]), json.loads(sys.argv[2])
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    for name, content in files.items():
        z.writestr(name, content)
    for name, target in links.items():
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = (0o120777 << 16)
        z.writestr(info, target)
sys.stdout.write(base64.b64encode(buf.getvalue()).decode())
)";
  auto p = run_process({"/usr/bin/python3", "-c", maker, files.dump(), links.dump()});
  REQUIRE(p.exit_code == 0);
  return p.out;
}

// A zip whose one entry says it holds fewer bytes than it inflates to (its sizes rewritten in
// both headers): a bomb that lies.
std::string lying_zip() {
  auto zip = pyrunner::base64_decode(make_zip({{"bomb", std::string(100000, 'a')}})).value();
  for (const std::string& sig : {std::string("PK\x03\x04"), std::string("PK\x01\x02")}) {
    const size_t at = zip.find(sig);
    REQUIRE(at != std::string::npos);
    const size_t size_at = at + (sig[2] == 3 ? 22 : 24);  // uncompressed size
    zip.replace(size_at, 4, std::string("\x0a\x00\x00\x00", 4));
  }
  return pyrunner::base64_encode(zip);
}

// A server of its own whose one run slot is held, for the overload answers.
constexpr const char* kOneSlot = "python:\n  preload: []\nserver:\n  max_concurrent_runs: 1\n";

json poll(const std::string& token, const std::string& query = "") {
  json j;
  eventually(
      [&] {
        j = get("/submissions/" + token + query);
        return j["status"]["id"].get<int>() > 2;
      },
      std::chrono::seconds(60));
  return j;
}

}  // namespace

TEST_CASE("Judge0's command-line words, decimals and base64", "[compat]") {
  using pyrunner::compat::judge0_arguments;
  using Words = std::vector<std::string>;
  CHECK(judge0_arguments("a 'b c' \"d \\\"e\\\"\" f\\ g") == Words{"a", "b c", "d \"e\"", "f g"});
  // The characters Judge0 strips before bash sees the line: no redirection, no second command.
  CHECK(judge0_arguments("x > out; rm -rf $HOME | `id` &") ==
        Words{"x", "out", "rm", "-rf", "HOME", "id"});
  CHECK(judge0_arguments("  ").empty());
  CHECK(judge0_arguments("'' \"\"") == Words{"", ""});
  using pyrunner::compat::judge0_decimal;
  CHECK(judge0_decimal(5) == "5.0");
  CHECK(judge0_decimal(0.25) == "0.25");
  CHECK(judge0_decimal(0.0123) == "0.012");
  CHECK(judge0_decimal(0) == "0.0");
  using pyrunner::compat::lenient_base64_decode;
  CHECK(lenient_base64_decode("aGVs\nbG8=\n") == "hello");
  CHECK(lenient_base64_decode("aGVsbG8") == "hello");  // no padding
  CHECK(lenient_base64_decode("a!G@V#s$") == "hel");   // outside the alphabet: skipped
  CHECK(lenient_base64_decode("_-8") == std::string("\xff\xef", 2));  // Node's URL-safe letters
  CHECK(lenient_base64_decode("Q") == "");
  CHECK(pyrunner::compat::judge0_base64(std::string(50, 'a')).find("\n") == 60);
}

TEST_CASE("the submission store is bounded in count and bytes, pending ones kept", "[compat]") {
  using pyrunner::compat::Submission;
  using pyrunner::compat::SubmissionStore;
  const auto made = [](size_t source_bytes, bool finished) {
    Submission s;
    s.source_code = std::string(source_bytes, 'x');
    s.request.code = s.source_code;
    if (finished) s.finished_at = std::chrono::system_clock::now();
    return s;
  };
  SubmissionStore by_count(2, 1 << 20, std::chrono::seconds(3600));
  auto done = made(10, true), pending = made(10, false), next = made(10, false);
  REQUIRE(by_count.add(done));
  REQUIRE(by_count.add(pending));
  REQUIRE(by_count.add(next));  // the finished one made room
  CHECK_FALSE(by_count.find(done.token).has_value());
  CHECK(by_count.find(pending.token).has_value());
  auto more = made(10, false);
  CHECK_FALSE(by_count.add(more));  // only pending ones: refused
  CHECK(by_count.size() == 2);

  // Each holds its source twice (as asked, and in its run request) while pending.
  SubmissionStore by_bytes(100, 150000, std::chrono::seconds(3600));
  auto a = made(30000, false), b = made(30000, false);
  REQUIRE(by_bytes.add(a));
  REQUIRE(by_bytes.add(b));
  auto c = made(40000, false);
  CHECK_FALSE(by_bytes.add(c));
  // Finished, a submission keeps no run request: half its bytes here.
  a.finished_at = std::chrono::system_clock::now();
  by_bytes.update(a);
  CHECK(by_bytes.bytes() < 120000);
  CHECK(by_bytes.add(c));  // a, finished, went
  CHECK_FALSE(by_bytes.find(a.token).has_value());
  CHECK(by_bytes.find(b.token).has_value());
  by_bytes.remove(b.token);
  by_bytes.remove(c.token);
  CHECK(by_bytes.bytes() == 0);
}

TEST_CASE("additional_files: a zip is read into files; hostile zips are refused", "[compat]") {
  using pyrunner::compat::unzip;
  const auto decode = [](const std::string& b64) { return pyrunner::base64_decode(b64).value(); };
  auto ok = unzip(decode(make_zip({{"helper.py", "X = 1\n"}, {"data/in.txt", "abc"}})), {});
  REQUIRE(ok.ok());
  REQUIRE(ok->size() == 2);  // in the archive's order (make_zip's: by name)
  CHECK(ok.value()[0].path == "data/in.txt");
  CHECK(ok.value()[0].content == "abc");
  CHECK(ok.value()[1].path == "helper.py");
  CHECK(ok.value()[1].content == "X = 1\n");
  const auto refused = [&](const std::string& b64, pyrunner::compat::ZipLimits limits = {}) {
    auto r = unzip(decode(b64), limits);
    REQUIRE_FALSE(r.ok());
    return r.status().message();
  };
  CHECK(refused(make_zip({{"../evil.py", "x"}})).find("must not contain '..'") !=
        std::string::npos);
  CHECK(refused(make_zip({{"/etc/evil", "x"}})).find("must be relative") != std::string::npos);
  CHECK(
      refused(make_zip(json::object(), {{"link", "/etc/passwd"}})).find("links are not allowed") !=
      std::string::npos);
  CHECK(refused(make_zip({{"a", "1"}, {"b", "2"}, {"c", "3"}}), {2, 1 << 20}) ==
        "more than 2 files");
  CHECK(refused(make_zip({{"big", std::string(5000, 'a')}}), {10, 1000}) ==
        "more than 1000 bytes uncompressed");
  CHECK(unzip("not a zip at all, just text", {}).status().message().rfind("not a usable zip", 0) ==
        0);
}

TEST_CASE("Judge0 flow: create with wait=true", "[compat][serve]") {
  auto j = post("/submissions?base64_encoded=false&wait=true",
                {{"source_code", "name = input()\nprint('hello, ' + name)"},
                 {"language_id", 71},
                 {"stdin", "Judge0"},
                 {"expected_output", "hello, Judge0"}},
                201);
  // Judge0's default fields, and nothing else.
  CHECK(j.size() == 8);
  CHECK(j["stdout"] == "hello, Judge0\n");
  CHECK(j["status"] == json{{"id", 3}, {"description", "Accepted"}});
  CHECK(j["stderr"].is_null());
  CHECK(j["compile_output"].is_null());
  CHECK(j["message"].is_null());
  CHECK(j["time"].is_string());  // a decimal, as Rails renders it
  CHECK(j["memory"].is_number_integer());
  CHECK(j["token"].get<std::string>().size() == 36);
  // language_id as a string, as the docs' example sends it
  auto wrong =
      post("/submissions?wait=true",
           {{"source_code", "print(1)"}, {"language_id", "71"}, {"expected_output", "2"}}, 201);
  CHECK(wrong["status"] == json{{"id", 4}, {"description", "Wrong Answer"}});
}

TEST_CASE("Judge0 flow: create without wait, then poll the token", "[compat][serve]") {
  auto created = post("/submissions", {{"source_code", "print(6 * 7)"}, {"language_id", 71}}, 201);
  REQUIRE(created.size() == 1);
  const std::string token = created["token"];
  auto j = poll(token, "?fields=*");
  CHECK(j["status"]["id"] == 3);
  CHECK(j["stdout"] == "42\n");
  CHECK(j["token"] == token);
  CHECK(j["language_id"] == 71);
  CHECK(j["language"]["id"] == 71);
  CHECK(j["source_code"] == "print(6 * 7)");
  CHECK(j["exit_code"] == 0);
  CHECK(j["created_at"].get<std::string>().back() == 'Z');
  CHECK(j["finished_at"].is_string());
  CHECK(j["wall_time"].is_string());
  CHECK(j["cpu_time_limit"] == "5.0");  // a decimal column, as Rails renders it
  CHECK(j["memory_limit"] == 128000);
  auto some = get("/submissions/" + token + "?fields=stdout,status_id");
  CHECK(some == json{{"stdout", "42\n"}, {"status_id", 3}});
  auto base64 = get("/submissions/" + token + "?base64_encoded=true&fields=stdout");
  CHECK(base64["stdout"] == "NDIK\n");  // Ruby's Base64.encode64, newline included
  auto bad = server().get("/submissions/" + token + "?fields=stdout,nope");
  CHECK(bad.status == 400);
  CHECK(bad.json()["error"] == "invalid fields: [nope]");
  auto missing = server().get("/submissions/00000000-0000-4000-8000-000000000000");
  CHECK(missing.status == 404);
}

TEST_CASE("Judge0 flow: a batch, created then fetched by tokens", "[compat][serve]") {
  auto created = post("/submissions/batch",
                      {{"submissions",
                        {{{"language_id", 71}, {"source_code", "print('hello from Python')"}},
                         {{"language_id", 123456789}, {"source_code", "print(1)"}},
                         {{"language_id", 71}, {"source_code", ""}}}}},
                      201);
  REQUIRE(created.size() == 3);
  CHECK(created[1] == json{{"language_id", {"language with id 123456789 doesn't exist"}}});
  CHECK(created[2] == json{{"source_code", {"can't be blank"}}});
  const std::string token = created[0]["token"];
  poll(token);
  auto j = get("/submissions/batch?tokens=" + token + ",00000000-0000-4000-8000-000000000000" +
               "&fields=token,stdout,status_id,language_id");
  REQUIRE(j["submissions"].size() == 2);
  CHECK(j["submissions"][0] == json{{"token", token},
                                    {"stdout", "hello from Python\n"},
                                    {"status_id", 3},
                                    {"language_id", 71}});
  CHECK(j["submissions"][1].is_null());
  auto none = post("/submissions/batch", {{"submissions", {{{"language_id", 7}}}}}, 422);
  CHECK(none[0].contains("source_code"));
  json six = json::array();
  for (int i = 0; i < 6; ++i) six.push_back({{"language_id", 71}, {"source_code", "print(1)"}});
  CHECK(post("/submissions/batch", {{"submissions", six}}, 400)["error"] ==
        "number of submissions in a batch should be less than or equal to 5");
}

TEST_CASE("Judge0 mapping: statuses, limits, base64, files, arguments", "[compat][serve]") {
  const auto run = [](json body, const std::string& query = "?wait=true&fields=*") {
    body["language_id"] = 71;
    return post("/submissions" + query, body, 201);
  };
  auto nzec = run({{"source_code", "import sys\nprint('x')\nsys.exit(3)"}});
  CHECK(nzec["status"] == json{{"id", 11}, {"description", "Runtime Error (NZEC)"}});
  CHECK(nzec["exit_code"] == 3);
  CHECK(nzec["message"] == "Exited with error status 3");
  auto raised = run({{"source_code", "1/0"}});
  CHECK(raised["status"]["id"] == 11);
  CHECK(raised["stderr"].get<std::string>().find("ZeroDivisionError") != std::string::npos);
  auto tle =
      run({{"source_code", "while True: pass"}, {"cpu_time_limit", 1}, {"cpu_extra_time", 0}});
  CHECK(tle["status"] == json{{"id", 5}, {"description", "Time Limit Exceeded"}});
  auto memory = run({{"source_code", "x = bytearray(300 * 1024 * 1024)"}, {"memory_limit", 65536}});
  CHECK(memory["status"]["description"].get<std::string>().rfind("Runtime Error", 0) == 0);
  CHECK(memory["message"].get<std::string>().find("Memory limit") != std::string::npos);
  auto killed = run({{"source_code", "import ctypes\nctypes.string_at(0)"}});
  CHECK(killed["status"] == json{{"id", 7}, {"description", "Runtime Error (SIGSEGV)"}});
  CHECK(killed["exit_signal"] == 11);
  auto fsize =
      run({{"source_code", "open('out.bin', 'wb').write(b'x' * 4096)"}, {"max_file_size", 1}});
  CHECK(fsize["status"]["id"] == 8);
  auto merged = run({{"source_code", "import sys\nprint('out')\nsys.stderr.write('err\\n')"},
                     {"redirect_stderr_to_stdout", true}});
  CHECK(merged["stdout"] == "out\nerr\n");
  CHECK(merged["stderr"].is_null());
  auto args = run(
      {{"source_code", "import sys\nprint(sys.argv[1:])"}, {"command_line_arguments", "a 'b c'"}});
  CHECK(args["stdout"] == "['a', 'b c']\n");
  auto files =
      run({{"source_code", "import helper\nprint(helper.X, open('data/in.txt').read())"},
           {"additional_files", make_zip({{"helper.py", "X = 5\n"}, {"data/in.txt", "abc"}})}});
  CHECK(files["stdout"] == "5 abc\n");
  auto runs = run({{"source_code", "print(1)"}, {"number_of_runs", 3}});
  CHECK(runs["status"]["id"] == 3);
  auto b64 = run({{"source_code", "cHJpbnQoaW5wdXQoKSk=\n"}, {"stdin", "aMOp"}},
                 "?wait=true&base64_encoded=true&fields=stdout,stdin");
  CHECK(b64["stdout"] == "aMOpCg==\n");
  CHECK(b64["stdin"] == "aMOp\n");
  // Output that is not UTF-8, without base64: Judge0's conversion error, and the token.
  auto latin = post(
      "/submissions?wait=true",
      {{"language_id", 71}, {"source_code", "import sys\nsys.stdout.buffer.write(b'\\xfe')"}}, 201);
  CHECK(latin["error"].get<std::string>().find("cannot be converted to UTF-8") !=
        std::string::npos);
  auto later = server().get("/submissions/" + latin["token"].get<std::string>());
  CHECK(later.status == 400);
  auto later64 = get("/submissions/" + latin["token"].get<std::string>() + "?base64_encoded=true");
  CHECK(later64["stdout"] == "/g==\n");
}

TEST_CASE("Judge0 bad input answers as Judge0 does", "[compat][serve]") {
  const auto errors = [](json body) { return post("/submissions?wait=true", body, 422); };
  CHECK(errors({{"source_code", "print(1)"}}) == json{{"language_id", {"can't be blank"}}});
  CHECK(errors({{"source_code", "print(1)"}, {"language_id", 54}}) ==
        json{{"language_id", {"language with id 54 doesn't exist"}}});
  CHECK(errors({{"source_code", "print(1)"}, {"language_id", 71}, {"cpu_time_limit", "soon"}}) ==
        json{{"cpu_time_limit", {"is not a number"}}});
  CHECK(errors({{"source_code", "print(1)"}, {"language_id", 71}, {"wall_time_limit", 100000}}) ==
        json{{"wall_time_limit", {"must be less than or equal to 300.0"}}});
  CHECK(errors({{"source_code", "print(1)"}, {"language_id", 71}, {"enable_network", true}}) ==
        json{{"enable_network", {"enabling network is not allowed"}}});
  auto zip = errors({{"source_code", "print(1)"},
                     {"language_id", 71},
                     {"additional_files", make_zip({{"../../x", "1"}})}});
  CHECK(zip["additional_files"][0].get<std::string>().find("'..'") != std::string::npos);
  auto links = errors({{"source_code", "print(1)"},
                       {"language_id", 71},
                       {"additional_files", make_zip(json::object(), {{"l", "/etc/passwd"}})}});
  CHECK(links["additional_files"][0].get<std::string>().find("links are not allowed") !=
        std::string::npos);
  auto statuses = get("/statuses");
  CHECK(statuses.size() == 14);
  CHECK(statuses[2] == json{{"id", 3}, {"description", "Accepted"}});
  auto languages = get("/languages");
  REQUIRE(languages.size() == 2);
  CHECK(languages[1]["id"] == 71);
  CHECK(languages[1]["name"].get<std::string>().rfind("Python (3.", 0) == 0);
  CHECK(get("/languages/71")["source_file"] == "script.py");
  CHECK(server().get("/languages/54").status == 404);
  auto still =
      post("/submissions?wait=true", {{"source_code", "print(1)"}, {"language_id", 71}}, 201);
  CHECK(still["status"]["id"] == 3);
}

TEST_CASE("Judge0 hostile input: clear 4xx in Judge0's shapes, the server unharmed",
          "[compat][serve]") {
  const auto errors = [](json body, const std::string& query = "?wait=true") {
    body["language_id"] = body.value("language_id", json(71));
    return post("/submissions" + query, body, 422);
  };
  // Not JSON, or not an object.
  auto broken = server().post("/submissions?wait=true", "{\"source_code\": ");
  CHECK(broken.status == 400);
  CHECK(broken.json()["error"].get<std::string>().rfind("the body is not valid JSON", 0) == 0);
  CHECK(post("/submissions", json::array({1}), 422) ==
        json{{"submission", {"must be a JSON object"}}});
  auto batch_broken = server().post("/submissions/batch", "[");
  CHECK(batch_broken.status == 400);
  CHECK(batch_broken.json().contains("error"));
  // Wrong types: Judge0's fields are scalars.
  CHECK(errors({{"source_code", json::array({"print(1)"})}}) ==
        json{{"source_code", {"must be a string, a number or a boolean, not an array"}}});
  CHECK(errors({{"source_code", "print(1)"}, {"stdin", json::object()}}) ==
        json{{"stdin", {"must be a string, a number or a boolean, not an object"}}});
  CHECK(errors({{"source_code", "print(1)"}, {"language_id", "python"}}) ==
        json{{"language_id", {"language with id python doesn't exist"}}});
  CHECK(errors({{"source_code", "print(1)"}, {"number_of_runs", 0}}) ==
        json{{"number_of_runs", {"must be greater than 0"}}});
  CHECK(errors({{"source_code", "print(1)"}, {"memory_limit", 2048}}) ==
        json{{"memory_limit", {"must be greater than or equal to 65536"}}});
  CHECK(errors({{"source_code", "print(1)"}, {"callback_url", "http://127.0.0.1:1/"}}) ==
        json{{"callback_url", {"setting callback is not allowed"}}});
  CHECK(errors({{"source_code", "print(1)"}, {"compiler_options", "-O2"}}) ==
        json{{"compiler_options",
              {"setting compiler options is only allowed for compiled languages"}}});
  CHECK(errors({{"source_code", "   \n"}}) == json{{"source_code", {"can't be blank"}}});
  // Base64 is read as Ruby reads it: what is not base64 is skipped, nothing is an error; a
  // source that decodes to nothing is blank.
  CHECK(errors({{"source_code", "!!!"}}, "?wait=true&base64_encoded=true") ==
        json{{"source_code", {"can't be blank"}}});
  auto lenient = post("/submissions?wait=true&base64_encoded=true&fields=stdout",
                      {{"language_id", 71}, {"source_code", "cHJpbnQo\nMSk*"}}, 201);
  CHECK(lenient["stdout"] == "MQo=\n");  // "print(1)" ran
  // Over the limits of every run: the validator's reasons, under Judge0's field names.
  const auto huge = errors({{"source_code", std::string((1 << 20) + 1, 'x')}});
  REQUIRE(huge.contains("source_code"));
  CHECK(huge["source_code"][0].get<std::string>().rfind("must be at most 1048576 bytes", 0) == 0);
  CHECK(errors({{"source_code", "print(1)"}, {"stdin", std::string((8 << 20) + 1, 'x')}})
            .contains("stdin"));
  // Hostile zips: nothing is unpacked anywhere, the reason is named.
  const auto zip_error = [&](const std::string& b64) {
    auto e = errors({{"source_code", "print(1)"}, {"additional_files", b64}});
    REQUIRE(e["additional_files"].is_array());
    return e["additional_files"][0].get<std::string>();
  };
  CHECK(zip_error(make_zip({{"../../x", "1"}})).find("must not contain '..'") != std::string::npos);
  CHECK(zip_error(make_zip({{"a/../../x", "1"}})).find("'..'") != std::string::npos);
  CHECK(zip_error(make_zip({{"..\\x", "1"}})).find("backslashes") != std::string::npos);
  CHECK(zip_error(make_zip(json::object(), {{"l", "/etc/passwd"}})).find("links are not allowed") !=
        std::string::npos);
  CHECK(zip_error(lying_zip()).find("inflates to more than its declared size") !=
        std::string::npos);
  CHECK(zip_error(pyrunner::base64_encode("PK not really a zip")).rfind("not a usable zip", 0) ==
        0);
  json many = json::object();
  for (int i = 0; i < 101; ++i) many["f" + std::to_string(i)] = "x";
  CHECK(zip_error(make_zip(many)) == "more than 100 files");
  // A real zip bomb: 129 MB of zeros in a few hundred KB, over sandbox.workdir_size_mb.
  const char* bomb = R"(
import base64, io, sys, zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("zeros", "w") as f:
        for _ in range(129):
            f.write(bytes(1 << 20))
sys.stdout.write(base64.b64encode(buf.getvalue()).decode())
)";
  auto made = run_process({"/usr/bin/python3", "-c", bomb});
  REQUIRE(made.exit_code == 0);
  CHECK(made.out.size() < (1 << 20));
  CHECK(zip_error(made.out) == "more than 134217728 bytes uncompressed");
  // A body over server.max_body_bytes: 413, in Judge0's shape.
  auto big = server().post("/submissions", std::string((10 << 20) + 1, 'a'));
  CHECK(big.status == 413);
  CHECK(big.json().contains("error"));
  // And the server still runs submissions.
  auto still =
      post("/submissions?wait=true", {{"source_code", "print(1)"}, {"language_id", 71}}, 201);
  CHECK(still["status"]["id"] == 3);
  CHECK(still["stdout"] == "1\n");
}

TEST_CASE("Judge0 fields: language, stdin, limits without a CPU limit, /languages/all",
          "[compat][serve]") {
  auto j = post("/submissions?wait=true&fields=*",
                {{"source_code", "import time\ntime.sleep(0.2)\nprint()"},
                 {"language_id", 10},
                 {"stdin", ""},
                 {"cpu_time_limit", 0}},  // isolate's "no limit"
                201);
  CHECK(j["status"]["id"] == 3);
  CHECK(j["language"]["id"] == 10);
  CHECK(j["language"]["name"].get<std::string>().rfind("Python for ML (3.", 0) == 0);
  CHECK(j["stdin"] == "");  // given empty: "", not null
  CHECK(j["stdout"] == "\n");
  CHECK(j["compile_output"].is_null());
  CHECK(j["enable_network"] == false);
  auto absent = post("/submissions?wait=true&fields=stdin",
                     {{"source_code", "print(1)"}, {"language_id", 71}}, 201);
  CHECK(absent["stdin"].is_null());
  auto all = get("/languages/all");
  REQUIRE(all.size() == 2);
  CHECK(all[0]["name"].get<std::string>() < all[1]["name"].get<std::string>());
  CHECK(all[0]["is_archived"] == false);
}

TEST_CASE("Judge0 under load: wait=true is told, a queued submission waits its turn",
          "[compat][serve]") {
  // One run slot, held; a waiter gives up after a second.
  TestServer s(std::string(kOneSlot) +
               "  max_queue: 1\n  queue_timeout: 1\npolicy:\n  enabled: false\n");
  const std::string body = json{{"source_code", "print(6 * 7)"}, {"language_id", 71}}.dump();
  std::string token;
  {
    HeldRun held(s);
    REQUIRE(held.running());
    auto waited = s.post("/submissions?wait=true", body);
    CHECK(waited.status == 503);
    CHECK(waited.json()["error"] == "server busy: no run slot freed up in time");
    CHECK(waited.headers["Retry-After"] == "1");
    auto created = s.post("/submissions", body);
    REQUIRE(created.status == 201);
    token = created.json()["token"];
    // It waited queue_timeout for the slot, was refused, and waits again: still In Queue.
    const auto rejected = [&] {
      const std::string m = s.get("/metrics").body, name = "\npyrunner_rejected_total ";
      const size_t at = m.find(name);
      return at == std::string::npos ? -1 : std::atoi(m.c_str() + at + name.size());
    };
    REQUIRE(eventually([&] { return rejected() >= 2; }, std::chrono::seconds(30)));
    CHECK(s.get("/submissions/" + token).json()["status"]["id"] <= 2);
  }
  json j;
  REQUIRE(eventually(
      [&] {
        j = s.get("/submissions/" + token).json();
        return j["status"]["id"].get<int>() > 2;
      },
      std::chrono::seconds(60)));
  CHECK(j["status"]["id"] == 3);
  CHECK(j["stdout"] == "42\n");
}

namespace {

const std::string kSubmission = R"J({"source_code": "print(1)", "language_id": 71})J";

HttpResponse while_held(const std::string& config,
                        const std::function<HttpResponse(const TestServer&)>& ask) {
  TestServer s(std::string(kOneSlot) + config);
  HeldRun held(s);
  REQUIRE(held.running());
  return ask(s);
}

// A store that holds one submission, taken by one that waits for the held slot.
HttpResponse store_full(const std::string& path, const std::string& body) {
  return while_held("compat:\n  judge0:\n    max_submissions: 1\n", [&](const TestServer& s) {
    REQUIRE(s.post("/submissions", kSubmission).status == 201);
    return s.post(path, body);
  });
}

const RegisterProducers kJudge0Producers({
    {"POST /submissions 413",
     [](const TestServer& s) { return s.post("/submissions", std::string((10 << 20) + 1, 'a')); }},
    {"POST /submissions 429",
     [](const TestServer&) {
       return while_held("  max_queue: 0\n", [](const TestServer& s) {
         return s.post("/submissions?wait=true", kSubmission);
       });
     }},
    {"POST /submissions 503",
     [](const TestServer&) { return store_full("/submissions", kSubmission); }},
    {"POST /submissions/batch 413",
     [](const TestServer& s) {
       return s.post("/submissions/batch", std::string((10 << 20) + 1, 'a'));
     }},
    {"POST /submissions/batch 503",
     [](const TestServer&) {
       return store_full("/submissions/batch", "{\"submissions\": [" + kSubmission + "]}");
     }},
    {"GET /languages/all 200", [](const TestServer& s) { return s.get("/languages/all"); }},
    {"POST /submissions 201",
     [](const TestServer& s) { return s.post("/submissions?wait=true", kSubmission); }},
    {"POST /submissions 400",
     [](const TestServer& s) { return s.post("/submissions?fields=x", kSubmission); }},
    {"POST /submissions 422", [](const TestServer& s) { return s.post("/submissions", "{}"); }},
    {"GET /submissions/{token} 200",
     [](const TestServer& s) {
       auto created = s.post("/submissions?wait=true", kSubmission).json();
       return s.get("/submissions/" + created["token"].get<std::string>());
     }},
    {"GET /submissions/{token} 400",
     [](const TestServer& s) { return s.get("/submissions/x?fields=stdout,nope"); }},
    {"GET /submissions/{token} 404",
     [](const TestServer& s) {
       return s.get("/submissions/00000000-0000-4000-8000-000000000000");
     }},
    {"POST /submissions/batch 201",
     [](const TestServer& s) {
       return s.post("/submissions/batch", "{\"submissions\": [" + kSubmission + "]}");
     }},
    {"POST /submissions/batch 400",
     [](const TestServer& s) { return s.post("/submissions/batch", "{\"submissions\": []}"); }},
    {"POST /submissions/batch 422",
     [](const TestServer& s) { return s.post("/submissions/batch", "{\"submissions\": [{}]}"); }},
    {"GET /submissions/batch 200",
     [](const TestServer& s) { return s.get("/submissions/batch?tokens=x"); }},
    {"GET /submissions/batch 400", [](const TestServer& s) { return s.get("/submissions/batch"); }},
    {"GET /languages 200", [](const TestServer& s) { return s.get("/languages"); }},
    {"GET /languages/{id} 200", [](const TestServer& s) { return s.get("/languages/71"); }},
    {"GET /languages/{id} 404", [](const TestServer& s) { return s.get("/languages/1"); }},
    {"GET /statuses 200", [](const TestServer& s) { return s.get("/statuses"); }},
});

}  // namespace
