#include "core/compat/piston.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <csignal>
#include <cstring>
#include <regex>
#include <sstream>

#include "core/compat/lenient_base64.h"
#include "core/validator/validator.h"

namespace pyrunner::compat {
namespace {

using nlohmann::ordered_json;

const char* const kAliases[] = {"py", "python3"};

// The encoding Piston gives a file: its own when it is one Piston knows, else utf8.
std::string file_encoding(const nlohmann::json& file) {
  auto e = file.find("encoding");
  if (e != file.end() && e->is_string() && (*e == "base64" || *e == "hex")) return *e;
  return "utf8";
}

// [major, minor, patch], a missing or x/* part -1.
std::vector<long> parts(const std::string& v) {
  std::vector<long> out;
  std::stringstream ss(v);
  for (std::string p; std::getline(ss, p, '.');) {
    out.push_back(p == "x" || p == "X" || p == "*" || p.empty() ? -1 : std::atol(p.c_str()));
  }
  while (out.size() < 3) out.push_back(-1);
  return out;
}

int cmp(const std::vector<long>& a, const std::vector<long>& b) {
  for (int i = 0; i < 3; ++i) {
    const long x = a[i] < 0 ? 0 : a[i], y = b[i] < 0 ? 0 : b[i];
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

bool matches_partial(const std::vector<long>& v, const std::vector<long>& p) {
  for (int i = 0; i < 3; ++i) {
    if (p[i] >= 0 && p[i] != v[i]) return false;
  }
  return true;
}

bool satisfies_one(const std::vector<long>& v, std::string c) {
  if (c.empty() || c == "*" || c == "x" || c == "X") return true;
  if (c[0] == 'v' || c[0] == '=') {
    if (c.rfind("v", 0) == 0 || (c[0] == '=' && c.size() > 1)) c = c.substr(1);
  }
  const auto skip = [&](size_t n) { return parts(c.substr(n)); };
  if (c.rfind(">=", 0) == 0) return cmp(v, skip(2)) >= 0;
  if (c.rfind("<=", 0) == 0) return cmp(v, skip(2)) <= 0;
  if (c[0] == '>') return cmp(v, skip(1)) > 0;
  if (c[0] == '<') return cmp(v, skip(1)) < 0;
  if (c[0] == '^') {
    auto p = skip(1);
    return v[0] == std::max(0L, p[0]) && cmp(v, p) >= 0;
  }
  if (c[0] == '~') {
    auto p = skip(1);
    return v[0] == std::max(0L, p[0]) && (p[1] < 0 || v[1] == p[1]) && cmp(v, p) >= 0;
  }
  return matches_partial(v, parts(c));
}

// A file's content in its encoding, as Node's Buffer.from reads it (base64 leniently); an
// encoding Piston does not know is utf8, as in Piston. Hex must be whole pairs of hex digits.
std::optional<std::string> decode(const nlohmann::json& file) {
  const std::string encoding = file_encoding(file);
  const auto& content = file["content"].get_ref<const std::string&>();
  if (encoding == "base64") return lenient_base64_decode(content);
  if (encoding != "hex") return content;
  if (content.size() % 2) return std::nullopt;
  std::string out;
  for (size_t k = 0; k < content.size(); k += 2) {
    const std::string byte = content.substr(k, 2);
    if (!std::isxdigit(static_cast<unsigned char>(byte[0])) ||
        !std::isxdigit(static_cast<unsigned char>(byte[1])))
      return std::nullopt;
    out.push_back(static_cast<char>(std::strtol(byte.c_str(), nullptr, 16)));
  }
  return out;
}

// A JavaScript number as a template string prints it: 300000, 2.5.
std::string js_number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  return nlohmann::json(v).dump();
}

// A JSON value is falsy to JavaScript: absent, null, false, 0, "" (Piston skips those limits).
bool falsy(const nlohmann::json& v) {
  return v.is_null() || (v.is_boolean() && !v.get<bool>()) ||
         (v.is_number() && v.get<double>() == 0) || (v.is_string() && v.get<std::string>().empty());
}

}  // namespace

bool semver_satisfies(const std::string& version, const std::string& range) {
  const auto v = parts(version);
  size_t start = 0;
  while (start <= range.size()) {
    size_t bar = range.find("||", start);
    if (bar == std::string::npos) bar = range.size();
    std::istringstream set(range.substr(start, bar - start));
    bool all = true;
    std::string c;
    bool any_comparator = false;
    while (set >> c) {
      any_comparator = true;
      all = all && satisfies_one(v, c);
    }
    if (all || !any_comparator) return true;
    start = bar + 2;
  }
  return false;
}

std::optional<std::string> read_execute(const nlohmann::json& body, const Config& config,
                                        const RequestValidator& validator,
                                        const std::string& python_version, RunRequest* r) {
  // Piston's checks, in its order and with its messages (api/v2.js, get_job).
  if (!body.is_object()) return "language is required as a string";
  const auto language = body.find("language");
  if (language == body.end() || !language->is_string() || language->get<std::string>().empty())
    return "language is required as a string";
  const auto version = body.find("version");
  if (version == body.end() || !version->is_string() || version->get<std::string>().empty())
    return "version is required as a string";
  const auto files = body.find("files");
  if (files == body.end() || !files->is_array()) return "files is required as an array";
  for (size_t i = 0; i < files->size(); ++i) {
    const auto& f = (*files)[i];
    if (!f.is_object() || !f.contains("content") || !f["content"].is_string())
      return "files[" + std::to_string(i) + "].content is required as a string";
  }
  const std::string lang = *language;
  bool known = lang == "python";
  for (const char* alias : kAliases) known = known || lang == alias;
  if (!known || !semver_satisfies(python_version, *version))
    return lang + "-" + version->get<std::string>() + " runtime is unknown";
  // Piston's "utf8 encoded" test looks at the encoding as sent: absent or "utf8".
  const auto sent_utf8 = [](const nlohmann::json& f) {
    const auto e = f.find("encoding");
    return e == f.end() || (e->is_string() && *e == "utf8");
  };
  if (std::none_of(files->begin(), files->end(), sent_utf8))
    return "files must include at least one utf8 encoded file";
  // Piston's constraints, with pyrunner's limits as its configured ones. A memory limit of -1
  // (piston-client's default) is "none", as with Piston's default configuration.
  const double max_timeout_ms = config.limits.max_timeout * 1000.0;
  const double max_memory = static_cast<double>(config.limits.max_memory_mb) * 1024 * 1024;
  for (const auto& [name, limit] :
       std::vector<std::pair<std::string, double>>{{"compile_memory_limit", max_memory},
                                                   {"run_memory_limit", max_memory},
                                                   {"compile_timeout", max_timeout_ms},
                                                   {"run_timeout", max_timeout_ms},
                                                   {"compile_cpu_time", max_timeout_ms},
                                                   {"run_cpu_time", max_timeout_ms}}) {
    auto it = body.find(name);
    if (it == body.end() || falsy(*it)) continue;
    if (!it->is_number()) return "If specified, " + name + " must be a number";
    if (it->get<double>() > limit)
      return name + " cannot exceed the configured limit of " + js_number(limit);
    if (it->get<double>() < 0 && name.find("memory") == std::string::npos)
      return name + " must be non-negative";
  }
  // Beyond Piston's checks: what Piston would fail on later (a 500 there), answered as a
  // bad request here.
  std::vector<std::string> args;
  if (auto a = body.find("args"); a != body.end() && !a->is_null()) {
    if (!a->is_array()) return "args must be an array of strings";
    for (const auto& arg : *a) {
      if (!arg.is_string()) return "args must be an array of strings";
      args.push_back(arg);
    }
  }
  std::string stdin_text;
  if (auto in = body.find("stdin"); in != body.end() && !in->is_null()) {
    if (!in->is_string()) return "stdin must be a string";
    stdin_text = *in;
  }
  // The first utf8 file is the program (run as python3 <its name>, though not written into
  // the working directory: a run's directory holds only what it was given); the others are
  // written there.
  bool have_program = false;
  size_t program = 0;  // its index in `files`
  for (size_t i = 0; i < files->size(); ++i) {
    const auto& f = (*files)[i];
    std::string name = "file" + std::to_string(i) + ".code";
    if (auto n = f.find("name"); n != f.end() && n->is_string() && !n->get<std::string>().empty())
      name = *n;
    // Piston joins the name to its directory: a leading '/' stays inside it.
    const std::string path = name.substr(std::min(name.find_first_not_of('/'), name.size()));
    if (auto why = relative_path_error(path))
      return "files[" + std::to_string(i) + "].name \"" + name + "\": " + *why;
    auto content = decode(f);
    if (!content)
      return "files[" + std::to_string(i) + "].content is not valid " + file_encoding(f);
    if (!have_program && file_encoding(f) == "utf8") {
      have_program = true;
      program = i;
      r->code = std::move(*content);
      r->filename = path;
    } else {
      r->files.push_back({path, std::move(*content)});
    }
  }
  r->args = std::move(args);
  // Piston ends stdin with a newline when it has none.
  if (stdin_text.empty() || stdin_text.back() != '\n') stdin_text += '\n';
  r->stdin_data = std::move(stdin_text);
  r->timeout_s = 3;  // Piston's default run_timeout, 3000 ms
  if (auto t = body.find("run_timeout"); t != body.end() && t->is_number() && t->get<double>() > 0)
    r->timeout_s = std::clamp(static_cast<int>(std::ceil(t->get<double>() / 1000)), 1,
                              config.limits.max_timeout);
  r->memory_mb = config.limits.default_memory_mb;
  if (auto m = body.find("run_memory_limit");
      m != body.end() && m->is_number() && m->get<double>() > 0)
    r->memory_mb = std::clamp(static_cast<int>(std::ceil(m->get<double>() / (1024 * 1024))),
                              config.limits.min_memory_mb, config.limits.max_memory_mb);
  // The checks of every run, in Piston's terms: the program is files[program], the other
  // files follow it in r->files without it.
  auto error = validator.check(*r);
  if (!error) return std::nullopt;
  const std::string& detail = error->detail;
  if (detail.rfind("code: ", 0) == 0)
    return "files[" + std::to_string(program) + "].content: " + detail.substr(6);
  static const std::regex kItem(R"(files\[(\d+)\]\.path)");
  std::string out;
  auto rest = detail.cbegin();
  for (std::sregex_iterator it(detail.begin(), detail.end(), kItem), end; it != end; ++it) {
    const size_t k = std::stoul((*it)[1]);
    out.append(rest, (*it)[0].first);
    out += "files[" + std::to_string(k < program ? k : k + 1) + "].name";
    rest = (*it)[0].second;
  }
  return out.append(rest, detail.cend());
}

ordered_json execute_json(const RunResult& result, const std::string& python_version,
                          const Config& config) {
  ordered_json run;
  const int code = result.exit_code.value_or(0);
  ordered_json signal = nullptr, status = nullptr, message = nullptr;
  ordered_json exit = code >= 0 ? ordered_json(code) : ordered_json(nullptr);
  if (code < 0) {
    const char* name = sigabbrev_np(-code);
    signal = name ? "SIG" + std::string(name) : std::to_string(-code);
  }
  // isolate's status letters and messages, as Piston passes them on; for a memory limit,
  // pyrunner's own message (Piston would only say which signal).
  switch (result.outcome) {
    case Outcome::kSuccess:
      break;
    case Outcome::kTimeout:
      status = "TO";
      signal = "SIGKILL";
      exit = nullptr;
      message = "Time limit exceeded (wall clock)";
      break;
    case Outcome::kMemoryExceeded:
    case Outcome::kError:
      status = code < 0 ? "SG" : "RE";
      if (code < 0) {
        message = "Caught fatal signal " + std::to_string(-code);
      } else if (code > 0) {
        message = "Exited with error status " + std::to_string(code);
      } else {  // refused before it ran (the static policy)
        exit = 1;
        message = result.error ? ordered_json(*result.error) : ordered_json(nullptr);
      }
      if (result.outcome == Outcome::kMemoryExceeded && result.error) message = *result.error;
      break;
  }
  // A stream cut at its cap: Piston's output limit statuses (Piston also stops the program;
  // pyrunner lets it finish and keeps the first max_output_bytes).
  const auto at_cap = [&](const std::string& text) {
    return static_cast<long>(text.size()) >= config.limits.max_output_bytes;
  };
  if (result.truncated && status.is_null() &&
      (at_cap(result.stdout_text) || at_cap(result.stderr_text))) {
    const bool out = at_cap(result.stdout_text);
    status = out ? "OL" : "EL";
    message = out ? "stdout length exceeded" : "stderr length exceeded";
    signal = "SIGKILL";
    exit = nullptr;
  }
  auto j = result_json(result);  // the streams made valid UTF-8
  run["stdout"] = j["stdout"];
  run["stderr"] = j["stderr"];
  run["output"] = j["stdout"].get<std::string>() + j["stderr"].get<std::string>();
  run["code"] = exit;
  run["signal"] = signal;
  run["message"] = message;
  run["status"] = status;
  run["cpu_time"] = std::lround(result.execution_time * 1000);
  run["wall_time"] = std::lround(result.execution_time * 1000);
  run["memory"] = std::llround(result.memory_used_mb * 1024 * 1024);
  return {{"language", "python"}, {"version", python_version}, {"run", run}};
}

ordered_json piston_runtimes(const std::string& python_version) {
  return ordered_json::array(
      {{{"language", "python"}, {"version", python_version}, {"aliases", {"py", "python3"}}}});
}

}  // namespace pyrunner::compat
