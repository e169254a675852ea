#pragma once
/// The parent's reader of a run's control channel (fd 3 in the child; protocol in
/// core/runner/protocol.py): one message per line, "M <json>" (a display item), "F <json>" (a
/// file the run wrote), "D <json>" (the outcome record). Everything on it is untrusted (the
/// program can write to fd 3 too): lines and totals are bounded, malformed items are dropped,
/// invalid UTF-8 is replaced, and nothing a program sends can make the reader keep more than
/// its caps.

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace pyrunner {

/// What the runner reported at the end ("D" line).
struct RunRecord {
  bool present = false;
  int exit_code = 0;
  std::string error;
  bool memory_error = false;
  double time = -1;  // seconds of the user code; < 0 when not reported
  bool results_truncated = false;
  bool files_truncated = false;
  nlohmann::ordered_json exception;  // null, or {"name", "value", "traceback": [lines]}
};

/// How much of the channel is kept.
struct ControlCaps {
  size_t results_bytes;  // the sum of display items' lines
  size_t files_bytes;    // the sum of file lines (base64 content)
  size_t max_files;
};

class ControlReader {
 public:
  explicit ControlReader(ControlCaps caps) : caps_(caps) {}

  /// Feeds bytes as they arrive; calls `on_display` for each display item as it completes.
  void feed(std::string_view bytes);
  void set_display_callback(std::function<void(const nlohmann::ordered_json&)> cb) {
    on_display_ = std::move(cb);
  }

  const RunRecord& record() const { return record_; }
  /// Display items in order: {"type": "display" | "execute_result", "data", "metadata"}.
  nlohmann::ordered_json& results() { return results_; }
  /// Files: {"path", "size", "mime", "content" | null, "omitted"?}.
  nlohmann::ordered_json& files() { return files_; }
  /// Some display item or file did not fit the caps, or was malformed.
  bool results_dropped() const { return results_dropped_; }
  bool files_dropped() const { return files_dropped_; }
  /// A session's code has started ("S"): a client's interrupt may be delivered.
  bool code_started() const { return code_started_; }

 private:
  void line(std::string_view text);
  void display(nlohmann::ordered_json item);
  void file(nlohmann::ordered_json item);

  ControlCaps caps_;
  std::string partial_;
  bool skipping_ = false;  // inside a line longer than any message may be
  size_t results_used_ = 0, files_used_ = 0;
  bool results_dropped_ = false, files_dropped_ = false;
  bool code_started_ = false;
  RunRecord record_;
  nlohmann::ordered_json results_ = nlohmann::ordered_json::array();
  nlohmann::ordered_json files_ = nlohmann::ordered_json::array();
  std::function<void(const nlohmann::ordered_json&)> on_display_;
};

/// Parses a "D" record's JSON; absent (present == false) when it is not a record.
RunRecord parse_record(std::string_view json_text);

/// Whether `text` nests arrays and objects at most `limit` deep (outside strings). Deeper JSON
/// would be parsed, but printing it back recurses once per level.
bool json_depth_within(std::string_view text, int limit);

}  // namespace pyrunner
