#pragma once
/// The runner's record: the one line ("D {json}") the Python runner writes on the control
/// channel when the user's code has finished, with what only the inside knows.

#include <string>

namespace pyrunner {

struct Record {
  bool present = false;  // a complete, readable record was found
  int exit_code = 0;
  std::string error;  // the exception's last line, if any
  bool memory_error = false;
  double time = -1;  // seconds the user code ran, measured inside; -1 if not given
};

/// The last complete "D {json}" line of `control` (the control stream read so far), which must
/// start a line; a line without its '\n' yet, or whose JSON does not parse, counts as absent.
/// (A program can write such a line itself; that can only misstate its own result.)
Record parse_record(const std::string& control);

}  // namespace pyrunner
