#pragma once
// What one run is asked to do, after validation (limits filled in from the config).

#include <string>
#include <vector>

namespace pyrunner {

/// A file written into the run's working directory before the code starts.
struct InputFile {
  std::string path;     // relative, normalized (checked by the validator)
  std::string content;  // the bytes (base64 already decoded)
};

struct RunRequest {
  std::string code;
  std::string stdin_data;
  int timeout_s = 30;
  int memory_mb = 512;
  std::vector<InputFile> files;
  std::string filename;           // what tracebacks call the program; "" is main.py
  std::vector<std::string> args;  // sys.argv[1:] (command-line arguments of the drop-in APIs)
  bool whole_files = false;       // every file the run writes comes back whole (run --output-dir)
};

}  // namespace pyrunner
