#pragma once
/// Judge0 (v1.13 API, Python only) on pyrunner's core: its submissions, their fields and
/// statuses, mapped onto one run request and its result. The table of that mapping is in
/// judge0.cc (kFields) and in README "coming from Judge0 / Piston".

#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/grading/verdict.h"
#include "core/model/request.h"
#include "core/model/result.h"
#include "core/validator/validator.h"

namespace pyrunner {
class ApiKey;  // core/access/keys.h
}  // namespace pyrunner

namespace pyrunner::compat {

/// Judge0's statuses: id and description.
struct Judge0Status {
  int id;
  const char* description;
};
const std::vector<Judge0Status>& judge0_statuses();

/// The Python 3 languages Judge0 has (71 "Python (3.8.1)" in CE, 10 "Python for ML" in the
/// extra edition), here both this server's Python.
struct Judge0Language {
  int id;
  std::string name;
};
std::vector<Judge0Language> judge0_languages(const std::string& python_version);

/// One submission: what was asked (with Judge0's defaults filled in) and, once run, what
/// happened, in Judge0's terms.
struct Submission {
  std::string token;
  // The API key that made it (core/access; null without keys): only that key finds it.
  const ApiKey* owner = nullptr;
  // asked
  std::string source_code;
  std::optional<std::string> stdin_data, expected_output;
  int language_id = 71;
  std::string language_name;  // "Python (3.11.2)"
  double cpu_time_limit = 5, cpu_extra_time = 1, wall_time_limit = 10;
  long memory_limit_kb = 128000, stack_limit_kb = 64000, max_file_size_kb = 1024;
  int max_processes_and_or_threads = 60, number_of_runs = 1;
  bool per_process_time = false, per_process_memory = false, redirect_stderr_to_stdout = false,
       enable_network = false;
  std::optional<std::string> command_line_arguments, callback_url, additional_files;
  RunRequest request;  // what pyrunner runs
  // happened
  int status_id = 1;  // In Queue
  std::optional<std::string> stdout_text, stderr_text, message;
  std::optional<int> exit_code, exit_signal;
  std::optional<double> time, wall_time;
  std::optional<long> memory_kb;
  std::chrono::system_clock::time_point created_at;
  std::optional<std::chrono::system_clock::time_point> finished_at;
};

/// Judge0's validation errors: {"field": ["message", ...]} (422).
using FieldErrors = std::map<std::string, std::vector<std::string>>;

/// Reads a submission (one JSON object of POST /submissions or of a batch). `base64` decodes
/// source_code, stdin and expected_output as Judge0 does. The run request it maps to is
/// checked by the same validator as POST /run; its errors are named by Judge0's fields.
struct Judge0Setup {
  const Config& config;
  const RequestValidator& validator;
  std::vector<Judge0Language> languages;  // judge0_languages()
};
std::optional<FieldErrors> read_submission(const nlohmann::json& body, bool base64,
                                           const Judge0Setup& setup, Submission* out);

/// command_line_arguments as Judge0's run script hands them to the program: the characters
/// it strips ($&;<>|`) removed, then split into words as bash does (quotes and backslashes; no
/// expansion).
std::vector<std::string> judge0_arguments(const std::string& command_line);

/// A decimal as Rails renders Judge0's decimal columns (Ruby's BigDecimal#to_s, to the
/// millisecond isolate measures): 5 -> "5.0", 0.25 -> "0.25", 0.0123 -> "0.012".
std::string judge0_decimal(double value);

/// Turns the outcome of the run(s) into Judge0's status and fields.
void record_result(const RunResult& result, int run, Submission* s);
/// A submission that could not be run: Internal Error (13) with `why` as its message.
void record_internal_error(const std::string& why, Submission* s);

/// The requested fields ("" or absent: Judge0's defaults; "*": every field); the names
/// Judge0 would refuse are returned in `invalid`.
std::vector<std::string> judge0_fields(const std::string& requested,
                                       std::vector<std::string>* invalid);

/// The OpenAPI schema of a submission as answered, from the same table as submission_json.
nlohmann::ordered_json judge0_submission_schema();

/// The submission's `fields`; without base64, nullopt when one of them is not valid UTF-8
/// (Judge0 then answers its conversion error).
std::optional<nlohmann::ordered_json> submission_json(const Submission& s,
                                                      const std::vector<std::string>& fields,
                                                      bool base64);

/// Judge0's base64 (Ruby's Base64.encode64: lines of 60 characters, each ending in "\n").
std::string judge0_base64(std::string_view bytes);

/// The finished and pending submissions, found by token. Bounded in count and in bytes (a
/// submission holds its source, input, files and output): when full, the oldest finished ones
/// go first; when the pending ones alone fill it, no new one is taken. A finished submission
/// is kept for `ttl` after it finished.
class SubmissionStore {
 public:
  SubmissionStore(size_t max_submissions, size_t max_bytes, std::chrono::seconds ttl)
      : max_(max_submissions), max_bytes_(max_bytes), ttl_(ttl) {}
  /// Stores `s` under a new token (set in `s`); false when the store is full of pending ones.
  bool add(Submission& s);
  /// Replaces the stored submission of `s.token` (its result); once it has finished, what
  /// only its run needed (the run request) is not kept.
  void update(const Submission& s);
  std::optional<Submission> find(const std::string& token);
  void remove(const std::string& token);
  size_t size();
  size_t bytes();

 private:
  struct Entry {
    Submission submission;
    std::optional<std::chrono::steady_clock::time_point> finished;
    size_t bytes = 0;
  };
  void expire_locked(std::chrono::steady_clock::time_point now);
  // Makes room for `more` bytes and one more entry by dropping the oldest finished ones;
  // false if the pending ones leave none.
  bool make_room_locked(size_t more);
  void put_locked(const std::string& token, const Submission& s,
                  std::optional<std::chrono::steady_clock::time_point> finished);
  const size_t max_, max_bytes_;
  const std::chrono::seconds ttl_;
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  size_t bytes_ = 0;
};

/// The bytes a submission holds (its texts, files and run request), for the store's bound.
size_t submission_bytes(const Submission& s);

/// A random version-4 UUID, as Judge0's tokens are.
std::string new_token();

}  // namespace pyrunner::compat
