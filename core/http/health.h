#pragma once
/// What GET / reports: the service, its limits, the installed libraries with their versions,
/// the isolation layers in force and the pool.

#include <map>
#include <string>

#include "core/config/config.h"

namespace pyrunner {

struct LibraryReport {
  std::string python_version;
  std::map<std::string, std::string> versions;  // import name -> version, for the preload list
  std::string error;                            // why the probe failed, if it did
};

/// Asks the configured interpreter itself (a short clean exec, no imports of the modules:
/// importlib.metadata only) which versions it has of the preload modules.
LibraryReport probe_libraries(const Config& config);

}  // namespace pyrunner
