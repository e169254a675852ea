#pragma once
/// The seccomp filter: compiled once in the parent with libseccomp, installed in the child as
/// the very last confinement step.

#include <linux/filter.h>

#include <vector>

#include "core/sandbox/step_error.h"
#include "core/util/status.h"

namespace pyrunner::sandbox {

/// Compiles the filter for x86_64 (native). Syscalls of any other ABI (i386 via int 0x80, x32)
/// kill the process: the rules below would not cover them.
Result<std::vector<sock_filter>> compile_seccomp_filter();

/// Child: sets no_new_privs and installs `filter`.
bool install_seccomp(const std::vector<sock_filter>& filter, StepError* err);

}  // namespace pyrunner::sandbox
