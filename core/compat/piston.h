#pragma once
/// Piston (v2 API, Python only) on pyrunner's core: its execute request mapped onto one run
/// request, the result onto its run stage. The mapping is in README "coming from Judge0 /
/// Piston".

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/config/config.h"
#include "core/model/request.h"
#include "core/model/result.h"
#include "core/validator/validator.h"

namespace pyrunner::compat {

/// Whether `version` ("3.11.2") satisfies a semver range as Piston takes them: "3.11.2",
/// "3", "3.x", "*", "^3.8", "~3.11", ">=3.8 <4", "a || b".
bool semver_satisfies(const std::string& version, const std::string& range);

/// Reads an execute request and checks the run it asks for with the validator of every run;
/// on error, the message in Piston's terms (answered 400 {"message"}).
std::optional<std::string> read_execute(const nlohmann::json& body, const Config& config,
                                        const RequestValidator& validator,
                                        const std::string& python_version, RunRequest* out);

/// {"language", "version", "run": {stdout, stderr, output, code, signal, message, status,
/// cpu_time, wall_time, memory}}.
nlohmann::ordered_json execute_json(const RunResult& result, const std::string& python_version,
                                    const Config& config);

nlohmann::ordered_json piston_runtimes(const std::string& python_version);

}  // namespace pyrunner::compat
