#pragma once
/// The static policy: an AST-level check of imports and dangerous builtins. It is a courtesy
/// that gives a clear early error ("Import of 'subprocess' is not allowed (line 3)"), not the
/// boundary: the sandbox holds with it switched off (policy.enabled: false).
///
/// The check is Python code run by the embedded interpreter inside the sandbox, just before
/// the user's code, so it parses with Python's own parser and hostile input never touches
/// the server.

#include <string_view>

namespace pyrunner {

/// Python source defining `check_policy(tree, allowed_modules, denied_builtins) -> str | None`.
std::string_view policy_source();

}  // namespace pyrunner
