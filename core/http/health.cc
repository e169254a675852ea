#include "core/http/health.h"

#include <nlohmann/json.hpp>
#include <set>

#include "core/sandbox/plan.h"
#include "core/util/process.h"

namespace pyrunner {
namespace {

// argv: top-level import names. Prints the version of each installed one, and the others.
constexpr const char* kProbe = R"PY(
import importlib.metadata as md, importlib.util, json, sys
dists = md.packages_distributions()
out = {"python": sys.version.split()[0], "versions": {}, "missing": []}
for top in sys.argv[1:]:
    for dist in dists.get(top, [top]):
        try:
            out["versions"][top] = md.version(dist)
            break
        except Exception:
            pass
    else:
        if importlib.util.find_spec(top) is None:
            out["missing"].append(top)
print(json.dumps(out))
)PY";

constexpr int kProbeTimeoutMs = 20000;

}  // namespace

LibraryReport probe_libraries(const Config& config) {
  LibraryReport report;
  std::vector<std::string> args = {config.python.interpreter, "-I", "-c", kProbe};
  std::set<std::string> names(config.python.report_libraries.begin(),
                              config.python.report_libraries.end());
  for (const auto& module : config.python.preload) names.insert(module.substr(0, module.find('.')));
  args.insert(args.end(), names.begin(), names.end());
  auto text = capture_output(args, sandbox::sandbox_environment(), kProbeTimeoutMs);
  if (!text.ok()) {
    report.error = text.status().message();
    return report;
  }
  try {
    auto j = nlohmann::json::parse(text.value());
    report.python_version = j.at("python").get<std::string>();
    for (auto& [name, version] : j.at("versions").items())
      report.versions[name] = version.get<std::string>();
    std::string missing;
    for (const auto& name : j.at("missing"))
      missing += (missing.empty() ? "" : ", ") + name.get<std::string>();
    if (!missing.empty()) report.error = "not installed: " + missing;
  } catch (const nlohmann::json::exception&) {
    report.error = "the interpreter's answer was not readable";
  }
  return report;
}

}  // namespace pyrunner
