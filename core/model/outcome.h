#pragma once
// The closed set of run outcomes. One table drives the JSON `status` and `pyrunner run`'s
// exit code, so the two can never disagree.

#include <string_view>

namespace pyrunner {

enum class Outcome { kSuccess, kError, kTimeout, kMemoryExceeded };

/// "success" | "error" | "timeout" | "memory_exceeded".
std::string_view outcome_status(Outcome outcome);
/// 0 | 1 | 2 | 3: the exit code of `pyrunner run` for a run that happened.
int outcome_exit_code(Outcome outcome);

/// Exit codes of `pyrunner run` for runs that did not happen, and of `serve` (sysexits.h values).
namespace exit_code {
inline constexpr int kUsage = 64;         // bad flags or arguments
inline constexpr int kInvalidInput = 65;  // the request fails validation (empty code, limits...)
inline constexpr int kNoInput = 66;       // the script or --stdin file cannot be read
inline constexpr int kUnavailable = 69;   // the sandbox cannot be set up on this host
inline constexpr int kInternal = 70;      // a bug of ours or a failed system call
inline constexpr int kCantCreate = 73;    // --output-dir cannot be written
inline constexpr int kCannotListen = 75;  // serve: the address is taken or not local (EX_TEMPFAIL)
inline constexpr int kConfig = 78;        // the config file is missing or invalid
}  // namespace exit_code

}  // namespace pyrunner
