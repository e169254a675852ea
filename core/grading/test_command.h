#pragma once
/// `pyrunner test SOLUTION CASES`: the grading core from the command line. Each case is its own
/// run in a fresh sandbox; when there are enough cases for it to pay, they are made by a warm
/// zygote of this command's own that has preloaded the libraries the solution imports.

#include <optional>
#include <string>
#include <vector>

namespace pyrunner::grading {

struct TestOptions {
  std::string config_path;
  std::string solution;
  std::string cases;
  std::string junit_path;  // "": none
  bool json = false;
  std::optional<std::string> compare;
  std::optional<std::string> timeout;  // text, read as the JSON field is
  std::optional<std::string> memory_limit;
  std::optional<int> jobs;    // default: the CPU cores
  std::string pool = "auto";  // "auto": warm from kWarmMinCases cases on; "warm"; "cold"
};

/// From this many cases on, a warm zygote is started for them (measured by `make bench`: a
/// cold run pays the interpreter and the solution's imports, a warm zygote pays them once plus
/// its own start-up; see README "grading").
inline constexpr size_t kWarmMinCases = 3;

/// The modules of `preload` (the config's python.preload) that `code` imports: what a zygote
/// for this solution imports once. Found by a scan of its import lines, a guess that costs
/// only speed when wrong: a module outside the operator's preload list is never imported
/// outside the sandbox on a solution's say-so.
std::vector<std::string> preload_for(const std::string& code,
                                     const std::vector<std::string>& preload);

/// Runs the command; returns its exit code (0 all accepted, 1 not, 64+ as `run`).
int test_main(const TestOptions& options);

}  // namespace pyrunner::grading
