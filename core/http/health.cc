#include "core/http/health.h"

#include <nlohmann/json.hpp>

#include "core/sandbox/plan.h"
#include "core/util/process.h"

namespace pyrunner {
namespace {

constexpr const char* kProbe = R"PY(
import importlib.metadata as md, json, sys
dists = md.packages_distributions()
out = {"python": sys.version.split()[0], "versions": {}}
for name in sys.argv[1:]:
    top = name.split(".")[0]
    for dist in dists.get(top, [top]):
        try:
            out["versions"][top] = md.version(dist)
            break
        except Exception:
            pass
print(json.dumps(out))
)PY";

constexpr int kProbeTimeoutMs = 20000;

}  // namespace

LibraryReport probe_libraries(const Config& config) {
  LibraryReport report;
  std::vector<std::string> args = {config.python.interpreter, "-I", "-c", kProbe};
  args.insert(args.end(), config.python.preload.begin(), config.python.preload.end());
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
  } catch (const nlohmann::json::exception&) {
    report.error = "the interpreter's answer was not readable";
  }
  return report;
}

}  // namespace pyrunner
