#pragma once
/// What GET / reports: the service, its limits, the installed libraries with their versions,
/// the isolation layers in force and the pool.

#include <map>
#include <string>

#include "core/config/config.h"

namespace pyrunner {

struct LibraryReport {
  std::string python_version;
  // top-level import name -> version, for python.report_libraries and the preload modules
  std::map<std::string, std::string> versions;
  std::string error;  // why the probe failed, or which of those names are not installed
};

/// Asks the configured interpreter itself (a short clean exec, no imports of the modules:
/// importlib.metadata only) which versions it has of python.report_libraries and of the
/// python.preload modules (their top-level packages). A module installed without package
/// metadata (a directory on python.module_paths) is neither listed nor called missing.
LibraryReport probe_libraries(const Config& config);

}  // namespace pyrunner
