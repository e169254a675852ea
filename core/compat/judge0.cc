#include "core/compat/judge0.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <functional>
#include <random>
#include <set>

#include "core/compat/lenient_base64.h"
#include "core/compat/zip.h"
#include "core/grading/compare.h"
#include "core/util/base64.h"
#include "core/util/utf8.h"

namespace pyrunner::compat {
namespace {

using nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr int kMaxNumberOfRuns = 20;  // Judge0's MAX_NUMBER_OF_RUNS
// Judge0's maxima for the fields pyrunner accepts but has no limit of its own for.
constexpr double kMaxStackLimitKb = 128000;        // MAX_STACK_LIMIT
constexpr double kMaxProcessesAndOrThreads = 120;  // MAX_MAX_PROCESSES_AND_OR_THREADS

std::string iso_time(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

// A number as Rails' numericality reads it: a JSON number, or a string holding one.
std::optional<double> number_of(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end != nullptr && *end == '\0' && std::isfinite(d)) return d;
  }
  return std::nullopt;
}

// Rails' boolean cast: false, 0, "0", "f", "false", "off" (any case) are false; anything else
// is true.
bool boolean_of(const nlohmann::json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return !(s == "0" || s == "f" || s == "false" || s == "off");
  }
  return true;
}

// A scalar's text as Rails stores it in a string column.
std::string text_of(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

// Rails' blank?: empty or only whitespace.
bool blank(const std::string& s) { return s.find_first_not_of(" \t\n\v\f\r") == std::string::npos; }

// "15.0" for a limit Judge0 configures as a float, "2048" for an integer one.
std::string count_text(double v, bool as_float) {
  if (!as_float) return std::to_string(static_cast<long long>(v));
  return nlohmann::json(static_cast<double>(v)).dump();
}

// The Judge0 field a pyrunner validation error ("<field>: <reason>") is about.
std::pair<std::string, std::string> judge0_field_of(const std::string& detail) {
  const size_t colon = detail.find(": ");
  std::string field = detail.substr(0, colon);
  std::string reason = colon == std::string::npos ? detail : detail.substr(colon + 2);
  if (field == "code") return {"source_code", reason};
  if (field.rfind("files", 0) == 0) return {"additional_files", field + ": " + reason};
  if (field == "timeout") return {"wall_time_limit", reason};
  return {field, reason};
}

int runtime_error_status(int signal) {
  switch (signal) {
    case 11:
      return 7;
    case 25:
      return 8;
    case 8:
      return 9;
    case 6:
      return 10;
  }
  return 12;
}

const char* description_of(int id) {
  for (const auto& s : judge0_statuses()) {
    if (s.id == id) return s.description;
  }
  return "Internal Error";
}

// How each field is shown: as text (base64 when asked), or as a JSON value.
struct Field {
  const char* name;
  bool text;  // a text attribute: base64 with base64_encoded=true, else checked for UTF-8
  std::function<ordered_json(const Submission&)> value;
  std::function<std::optional<std::string>(const Submission&)> bytes;
};

ordered_json opt_text(const std::optional<std::string>& s) {
  return s ? ordered_json(*s) : ordered_json(nullptr);
}

const std::vector<Field>& fields() {
  using S = Submission;
  static const auto* table = new std::vector<Field>{
      {"source_code", true, nullptr, [](const S& s) { return std::optional(s.source_code); }},
      {"language_id", false, [](const S& s) { return ordered_json(s.language_id); }, nullptr},
      {"stdin", true, nullptr, [](const S& s) { return s.stdin_data; }},
      {"expected_output", true, nullptr, [](const S& s) { return s.expected_output; }},
      {"stdout", true, nullptr, [](const S& s) { return s.stdout_text; }},
      {"status_id", false, [](const S& s) { return ordered_json(s.status_id); }, nullptr},
      {"created_at", false, [](const S& s) { return ordered_json(iso_time(s.created_at)); },
       nullptr},
      {"finished_at", false,
       [](const S& s) {
         return s.finished_at ? ordered_json(iso_time(*s.finished_at)) : ordered_json(nullptr);
       },
       nullptr},
      {"time", false,
       [](const S& s) {
         return s.time ? ordered_json(judge0_decimal(*s.time)) : ordered_json(nullptr);
       },
       nullptr},
      {"memory", false,
       [](const S& s) { return s.memory_kb ? ordered_json(*s.memory_kb) : ordered_json(nullptr); },
       nullptr},
      {"stderr", true, nullptr, [](const S& s) { return s.stderr_text; }},
      {"token", false, [](const S& s) { return ordered_json(s.token); }, nullptr},
      {"number_of_runs", false, [](const S& s) { return ordered_json(s.number_of_runs); }, nullptr},
      {"cpu_time_limit", false,
       [](const S& s) { return ordered_json(judge0_decimal(s.cpu_time_limit)); }, nullptr},
      {"cpu_extra_time", false,
       [](const S& s) { return ordered_json(judge0_decimal(s.cpu_extra_time)); }, nullptr},
      {"wall_time_limit", false,
       [](const S& s) { return ordered_json(judge0_decimal(s.wall_time_limit)); }, nullptr},
      {"memory_limit", false, [](const S& s) { return ordered_json(s.memory_limit_kb); }, nullptr},
      {"stack_limit", false, [](const S& s) { return ordered_json(s.stack_limit_kb); }, nullptr},
      {"max_processes_and_or_threads", false,
       [](const S& s) { return ordered_json(s.max_processes_and_or_threads); }, nullptr},
      {"enable_per_process_and_thread_time_limit", false,
       [](const S& s) { return ordered_json(s.per_process_time); }, nullptr},
      {"enable_per_process_and_thread_memory_limit", false,
       [](const S& s) { return ordered_json(s.per_process_memory); }, nullptr},
      {"max_file_size", false, [](const S& s) { return ordered_json(s.max_file_size_kb); },
       nullptr},
      {"compile_output", true, nullptr, [](const S&) { return std::optional<std::string>(); }},
      {"exit_code", false,
       [](const S& s) { return s.exit_code ? ordered_json(*s.exit_code) : ordered_json(nullptr); },
       nullptr},
      {"exit_signal", false,
       [](const S& s) {
         return s.exit_signal ? ordered_json(*s.exit_signal) : ordered_json(nullptr);
       },
       nullptr},
      {"message", true, nullptr, [](const S& s) { return s.message; }},
      {"wall_time", false,
       [](const S& s) {
         return s.wall_time ? ordered_json(judge0_decimal(*s.wall_time)) : ordered_json(nullptr);
       },
       nullptr},
      {"compiler_options", false, [](const S&) { return ordered_json(nullptr); }, nullptr},
      {"command_line_arguments", false,
       [](const S& s) { return opt_text(s.command_line_arguments); }, nullptr},
      {"redirect_stderr_to_stdout", false,
       [](const S& s) { return ordered_json(s.redirect_stderr_to_stdout); }, nullptr},
      {"callback_url", false, [](const S& s) { return opt_text(s.callback_url); }, nullptr},
      {"additional_files", false,
       [](const S& s) {
         return s.additional_files ? ordered_json(judge0_base64(*s.additional_files))
                                   : ordered_json(nullptr);
       },
       nullptr},
      {"enable_network", false, [](const S& s) { return ordered_json(s.enable_network); }, nullptr},
      {"status", false,
       [](const S& s) {
         return ordered_json{{"id", s.status_id}, {"description", description_of(s.status_id)}};
       },
       nullptr},
      {"language", false,
       [](const S& s) {
         return ordered_json{{"id", s.language_id}, {"name", s.language_name}};
       },
       nullptr},
  };
  return *table;
}

const std::vector<std::string> kDefaultFields = {"token",  "time",           "memory",  "stdout",
                                                 "stderr", "compile_output", "message", "status"};

}  // namespace

const std::vector<Judge0Status>& judge0_statuses() {
  static const auto* statuses = new std::vector<Judge0Status>{
      {1, "In Queue"},
      {2, "Processing"},
      {3, "Accepted"},
      {4, "Wrong Answer"},
      {5, "Time Limit Exceeded"},
      {6, "Compilation Error"},
      {7, "Runtime Error (SIGSEGV)"},
      {8, "Runtime Error (SIGXFSZ)"},
      {9, "Runtime Error (SIGFPE)"},
      {10, "Runtime Error (SIGABRT)"},
      {11, "Runtime Error (NZEC)"},
      {12, "Runtime Error (Other)"},
      {13, "Internal Error"},
      {14, "Exec Format Error"},
  };
  return *statuses;
}

std::vector<Judge0Language> judge0_languages(const std::string& python_version) {
  return {{10, "Python for ML (" + python_version + ")"}, {71, "Python (" + python_version + ")"}};
}

std::string judge0_base64(std::string_view bytes) {
  const std::string flat = base64_encode(bytes);
  std::string out;
  for (size_t i = 0; i < flat.size(); i += 60) out += flat.substr(i, 60) + "\n";
  return out;
}

std::string judge0_decimal(double value) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  std::string out = buf;
  while (out.back() == '0' && out[out.size() - 2] != '.') out.pop_back();
  return out;
}

std::vector<std::string> judge0_arguments(const std::string& command_line) {
  std::string line;
  for (char c : command_line) {
    if (std::string_view("$&;<>|`").find(c) == std::string_view::npos) line += c;
  }
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote == '\'') {
      if (c == '\'')
        quote = 0;
      else
        word += c;
    } else if (quote == '"') {
      if (c == '"') {
        quote = 0;
      } else if (c == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\')) {
        word += line[++i];  // ($ and ` have been stripped already)
      } else {
        word += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      if (line[i + 1] != '\n') word += line[i + 1];  // backslash-newline joins lines
      ++i;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

std::optional<FieldErrors> read_submission(const nlohmann::json& body, bool base64,
                                           const Judge0Setup& setup, Submission* s) {
  const Config& config = setup.config;
  FieldErrors errors;
  const auto add = [&](const std::string& field, const std::string& message) {
    errors[field].push_back(message);
  };
  if (!body.is_object()) {
    add("submission", "must be a JSON object");
    return errors;
  }
  // A field's value; null is absent. Judge0's fields are all scalars: an array or an object
  // is an error here (Rails would drop it without a word).
  const auto get = [&](const char* key) -> const nlohmann::json* {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return nullptr;
    if (it->is_structured()) {
      add(key, std::string("must be a string, a number or a boolean, not ") +
                   (it->is_array() ? "an array" : "an object"));
      return nullptr;
    }
    return &*it;
  };
  const auto decoded = [&](const nlohmann::json& v) {
    return base64 ? lenient_base64_decode(text_of(v)) : text_of(v);
  };
  if (auto v = get("source_code")) s->source_code = decoded(*v);
  if (blank(s->source_code) && !errors.count("source_code")) add("source_code", "can't be blank");
  if (auto v = get("language_id")) {
    auto id = number_of(*v);
    const auto known = std::find_if(setup.languages.begin(), setup.languages.end(),
                                    [&](const Judge0Language& l) { return id && l.id == *id; });
    if (known == setup.languages.end()) {
      add("language_id", "language with id " + text_of(*v) + " doesn't exist");
    } else {
      s->language_id = known->id;
      s->language_name = known->name;
    }
  } else if (!errors.count("language_id")) {
    add("language_id", "can't be blank");
  }
  if (auto v = get("stdin")) s->stdin_data = decoded(*v);
  if (auto v = get("expected_output")) s->expected_output = decoded(*v);
  const double max_time = config.limits.max_timeout;
  // Rails' numericality, as Judge0's model declares it: the bounds, whether the lower one is
  // inclusive, whether Judge0 configures the upper one as a float (its message then says
  // "15.0"), and where the value goes.
  struct Number {
    const char* field;
    double min;
    bool min_inclusive;
    double max;
    bool float_max;
    std::function<void(double)> set;
  };
  const std::vector<Number> numbers = {
      {"number_of_runs", 0, false, kMaxNumberOfRuns, false,
       [&](double d) { s->number_of_runs = static_cast<int>(d); }},
      {"cpu_time_limit", 0, true, max_time, true, [&](double d) { s->cpu_time_limit = d; }},
      {"cpu_extra_time", 0, true, max_time, true, [&](double d) { s->cpu_extra_time = d; }},
      {"wall_time_limit", 1, true, max_time, true, [&](double d) { s->wall_time_limit = d; }},
      {"memory_limit", config.limits.min_memory_mb * 1024.0, true,
       config.limits.max_memory_mb * 1024.0, false,
       [&](double d) { s->memory_limit_kb = static_cast<long>(d); }},
      {"stack_limit", 0, true, kMaxStackLimitKb, false,
       [&](double d) { s->stack_limit_kb = static_cast<long>(d); }},
      {"max_processes_and_or_threads", 0, false, kMaxProcessesAndOrThreads, false,
       [&](double d) { s->max_processes_and_or_threads = static_cast<int>(d); }},
      {"max_file_size", 0, true, config.sandbox.max_file_size_mb * 1024.0, false,
       [&](double d) { s->max_file_size_kb = static_cast<long>(d); }},
  };
  for (const auto& n : numbers) {
    auto v = get(n.field);
    if (!v || (v->is_string() && v->get_ref<const std::string&>().empty())) continue;
    auto d = number_of(*v);
    if (!d) {
      add(n.field, "is not a number");
    } else if (n.min_inclusive ? *d < n.min : *d <= n.min) {
      add(n.field, std::string(n.min_inclusive ? "must be greater than or equal to "
                                               : "must be greater than ") +
                       count_text(n.min, false));
    } else if (*d > n.max) {
      add(n.field, "must be less than or equal to " + count_text(n.max, n.float_max));
    } else {
      n.set(*d);
    }
  }
  if (auto v = get("enable_per_process_and_thread_time_limit"))
    s->per_process_time = boolean_of(*v);
  if (auto v = get("enable_per_process_and_thread_memory_limit"))
    s->per_process_memory = boolean_of(*v);
  if (auto v = get("redirect_stderr_to_stdout")) s->redirect_stderr_to_stdout = boolean_of(*v);
  // Judge0's own messages for what its configuration can switch off: a run has no network,
  // and pyrunner calls no URL on a run's behalf.
  if (auto v = get("enable_network"); v && boolean_of(*v))
    add("enable_network", "enabling network is not allowed");
  if (auto v = get("callback_url"); v && !blank(text_of(*v)))
    add("callback_url", "setting callback is not allowed");
  if (auto v = get("compiler_options"); v && !blank(text_of(*v)))
    add("compiler_options", "setting compiler options is only allowed for compiled languages");
  if (auto v = get("command_line_arguments")) {
    s->command_line_arguments = text_of(*v);
    if (s->command_line_arguments->size() > 512)
      add("command_line_arguments", "is too long (maximum is 512 characters)");
  }
  std::vector<InputFile> files;
  if (auto v = get("additional_files"); v && !text_of(*v).empty()) {
    s->additional_files = lenient_base64_decode(text_of(*v));
    auto unzipped =
        unzip(*s->additional_files, {static_cast<size_t>(config.limits.max_files),
                                     static_cast<size_t>(config.sandbox.workdir_size_mb) << 20});
    if (unzipped.ok()) {
      files = std::move(unzipped.value());
    } else {
      add("additional_files", unzipped.status().message());
    }
  }
  if (s->expected_output &&
      static_cast<long>(s->expected_output->size()) > config.limits.max_output_bytes)
    add("expected_output",
        "is too long (maximum is " + std::to_string(config.limits.max_output_bytes) + " bytes)");
  if (!errors.empty()) return errors;

  RunRequest& r = s->request;
  r.code = s->source_code;
  r.filename = "script.py";  // Judge0's source file for Python
  if (s->command_line_arguments) r.args = judge0_arguments(*s->command_line_arguments);
  r.stdin_data = s->stdin_data.value_or("");
  // Judge0 stops a run at cpu_time_limit + cpu_extra_time of CPU (0: none) or wall_time_limit
  // of wall time; pyrunner's timeout is wall time in whole seconds, the sooner of the two.
  const double cpu = s->cpu_time_limit > 0 ? s->cpu_time_limit + s->cpu_extra_time : 1e9;
  r.timeout_s = std::clamp(static_cast<int>(std::ceil(std::min(cpu, s->wall_time_limit))), 1,
                           config.limits.max_timeout);
  r.memory_mb = std::clamp(static_cast<int>((s->memory_limit_kb + 1023) / 1024),
                           config.limits.min_memory_mb, config.limits.max_memory_mb);
  r.files = std::move(files);
  if (auto e = setup.validator.check(r)) {
    auto [field, reason] = judge0_field_of(e->detail);
    add(field, reason);
    return errors;
  }
  return std::nullopt;
}

void record_result(const RunResult& result, int run, Submission* s) {
  s->finished_at = std::chrono::system_clock::now();
  // number_of_runs: time and memory are averaged over the runs, as Judge0 does.
  const double n = run + 1;
  s->time = ((s->time ? *s->time : 0) * run + result.execution_time) / n;
  s->wall_time = s->time;
  const long kb = static_cast<long>(std::lround(result.memory_used_mb * 1024));
  s->memory_kb = static_cast<long>(((s->memory_kb ? *s->memory_kb : 0) * run + kb) / n);
  std::string out = result.stdout_text, err = result.stderr_text;
  if (s->redirect_stderr_to_stdout) {
    out += err;  // appended after stdout: the two streams are captured apart
    err.clear();
  }
  s->stdout_text = out.empty() ? std::nullopt : std::optional(out);
  s->stderr_text = err.empty() ? std::nullopt : std::optional(err);
  s->exit_code = 0;
  s->exit_signal.reset();
  s->message.reset();
  const int code = result.exit_code.value_or(0);
  // A cpu_time_limit of 0 is none, as isolate's.
  const double time_limit =
      s->cpu_time_limit > 0 ? std::min(s->cpu_time_limit, s->wall_time_limit) : s->wall_time_limit;
  switch (result.outcome) {
    case Outcome::kTimeout:
      s->status_id = 5;
      s->message = "Time limit exceeded";
      return;
    case Outcome::kMemoryExceeded:
    case Outcome::kError:
      if (code < 0) {
        s->exit_signal = -code;
        s->status_id = runtime_error_status(-code);
        s->message = "Caught fatal signal " + std::to_string(-code);
      } else if (code > 0) {
        s->exit_code = code;
        s->status_id = 11;
        s->message = "Exited with error status " + std::to_string(code);
      } else {  // refused before it ran (the static policy): pyrunner's reason
        s->status_id = 11;
        s->message = result.error.value_or("Runtime error");
      }
      // Judge0 has no memory-limit status: a Runtime Error, and the message says why.
      if (result.outcome == Outcome::kMemoryExceeded && result.error) s->message = *result.error;
      return;
    case Outcome::kSuccess:
      break;
  }
  if (result.execution_time > time_limit) {
    s->status_id = 5;
    s->message = "Time limit exceeded";
    return;
  }
  for (const auto& f : result.files) {
    if (f.value("size", 0L) > s->max_file_size_kb * 1024) {
      s->status_id = 8;
      s->exit_signal = 25;
      s->message = "File size limit exceeded: " + f.value("path", std::string()) + " (" +
                   std::to_string(f.value("size", 0L)) + " bytes, max_file_size " +
                   std::to_string(s->max_file_size_kb) + " KB)";
      return;
    }
  }
  if (s->expected_output && grading::judge0_trim(*s->expected_output) !=
                                grading::judge0_trim(s->stdout_text.value_or(""))) {
    s->status_id = 4;
    return;
  }
  s->status_id = 3;
}

void record_internal_error(const std::string& why, Submission* s) {
  s->finished_at = std::chrono::system_clock::now();
  s->status_id = 13;
  s->message = why;
}

ordered_json judge0_submission_schema() {
  static const std::set<std::string> kIntegers = {
      "language_id",  "status_id",   "memory",        "number_of_runs",
      "memory_limit", "stack_limit", "max_file_size", "max_processes_and_or_threads",
      "exit_code",    "exit_signal"};
  static const std::set<std::string> kBooleans = {"enable_per_process_and_thread_time_limit",
                                                  "enable_per_process_and_thread_memory_limit",
                                                  "redirect_stderr_to_stdout", "enable_network"};
  ordered_json properties = ordered_json::object();
  for (const auto& f : fields()) {
    const std::string name = f.name;
    ordered_json p = {{"type", kIntegers.count(name)                    ? "integer"
                               : kBooleans.count(name)                  ? "boolean"
                               : name == "status" || name == "language" ? "object"
                                                                        : "string"},
                      {"nullable", true}};
    if (f.text)
      p["description"] = "Text; base64 (Ruby's, 60-character lines) with base64_encoded=true";
    properties[name] = p;
  }
  properties["status"]["properties"] = {{"id", {{"type", "integer"}}},
                                        {"description", {{"type", "string"}}}};
  properties["language"]["properties"] = {{"id", {{"type", "integer"}}},
                                          {"name", {{"type", "string"}}}};
  return {{"type", "object"},
          {"description",
           "A Judge0 submission: the fields asked for (fields=; default token, time, memory, "
           "stdout, stderr, compile_output, message, status; * for all)"},
          {"properties", properties}};
}

std::vector<std::string> judge0_fields(const std::string& requested,
                                       std::vector<std::string>* invalid) {
  std::vector<std::string> names, chosen;
  size_t start = 0;
  while (start <= requested.size() && !requested.empty()) {
    size_t comma = requested.find(',', start);
    if (comma == std::string::npos) comma = requested.size();
    std::string name = requested.substr(start, comma - start);
    if (!name.empty()) names.push_back(name);
    start = comma + 1;
  }
  bool all = false;
  for (const auto& name : names) {
    if (name == "*") {
      all = true;
      continue;
    }
    bool known = false;
    for (const auto& f : fields()) known = known || name == f.name;
    if (known) {
      chosen.push_back(name);
    } else {
      invalid->push_back(name);
    }
  }
  if (all) {
    chosen.clear();
    for (const auto& f : fields()) chosen.push_back(f.name);
  }
  return chosen.empty() ? kDefaultFields : chosen;
}

std::optional<ordered_json> submission_json(const Submission& s,
                                            const std::vector<std::string>& names, bool base64) {
  ordered_json j = ordered_json::object();
  for (const auto& name : names) {
    for (const auto& f : fields()) {
      if (name != f.name) continue;
      if (!f.text) {
        j[name] = f.value(s);
        break;
      }
      auto bytes = f.bytes(s);
      if (!bytes) {
        j[name] = nullptr;
      } else if (base64) {
        j[name] = judge0_base64(*bytes);
      } else if (!is_valid_utf8(*bytes)) {
        return std::nullopt;
      } else {
        j[name] = *bytes;
      }
      break;
    }
  }
  return j;
}

size_t submission_bytes(const Submission& s) {
  size_t n = sizeof(Submission) + s.source_code.size() + s.request.code.size() +
             s.request.stdin_data.size();
  for (const auto* text : {&s.stdin_data, &s.expected_output, &s.stdout_text, &s.stderr_text,
                           &s.message, &s.additional_files, &s.command_line_arguments})
    n += *text ? (*text)->size() : 0;
  for (const auto& f : s.request.files) n += f.path.size() + f.content.size();
  return n;
}

bool SubmissionStore::make_room_locked(size_t more) {
  while (entries_.size() + 1 > max_ || bytes_ + more > max_bytes_) {
    auto oldest = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.finished &&
          (oldest == entries_.end() || *it->second.finished < *oldest->second.finished))
        oldest = it;
    }
    if (oldest == entries_.end()) return false;
    bytes_ -= oldest->second.bytes;
    entries_.erase(oldest);
  }
  return true;
}

void SubmissionStore::put_locked(const std::string& token, const Submission& s,
                                 std::optional<Clock::time_point> finished) {
  Entry& e = entries_[token];
  bytes_ -= e.bytes;
  e.submission = s;
  if (finished) e.submission.request = RunRequest{};  // run: what it needed is not kept
  e.finished = finished;
  e.bytes = submission_bytes(e.submission);
  bytes_ += e.bytes;
}

bool SubmissionStore::add(Submission& s) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = Clock::now();
  expire_locked(now);
  if (!make_room_locked(submission_bytes(s))) return false;
  do {
    s.token = new_token();
  } while (entries_.count(s.token));
  put_locked(s.token, s, s.finished_at ? std::optional(now) : std::nullopt);
  return true;
}

void SubmissionStore::update(const Submission& s) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(s.token);
  if (it == entries_.end()) return;
  put_locked(s.token, s, s.finished_at ? std::optional(Clock::now()) : std::nullopt);
  // Its output may have taken the store over its bytes: the oldest finished others go.
  if (bytes_ > max_bytes_) {
    const Entry kept = it->second;
    bytes_ -= kept.bytes;
    entries_.erase(it);
    make_room_locked(kept.bytes);
    entries_[s.token] = kept;
    bytes_ += kept.bytes;
  }
}

std::optional<Submission> SubmissionStore::find(const std::string& token) {
  std::lock_guard<std::mutex> lock(mutex_);
  expire_locked(Clock::now());
  auto it = entries_.find(token);
  if (it == entries_.end()) return std::nullopt;
  return it->second.submission;
}

void SubmissionStore::remove(const std::string& token) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(token);
  if (it == entries_.end()) return;
  bytes_ -= it->second.bytes;
  entries_.erase(it);
}

size_t SubmissionStore::size() {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

size_t SubmissionStore::bytes() {
  std::lock_guard<std::mutex> lock(mutex_);
  return bytes_;
}

void SubmissionStore::expire_locked(Clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.finished && now - *it->second.finished > ttl_) {
      bytes_ -= it->second.bytes;
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

std::string new_token() {
  std::random_device rd;
  unsigned char b[16];
  for (int i = 0; i < 16; i += 4) {
    const uint32_t r = rd();
    std::memcpy(b + i, &r, 4);
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

}  // namespace pyrunner::compat
