#pragma once
// How to make a server answer each (method, path, status) its OpenAPI document lists. The
// OpenAPI test in tests/http/serve_test.cc checks every listed answer with a producer; a
// feature's own test file registers the producers of its routes here, next to its tests.

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "support/harness.h"

namespace pyrunner::testing {

/// Makes `server` (policy off, two run slots) give one answer; may start a server of its own.
using Producer = std::function<HttpResponse(const TestServer& server)>;

/// "POST /grade 422" -> its producer.
const std::map<std::string, Producer>& openapi_producers();

/// Registers producers at static initialisation: `const RegisterProducers kProducers({...});`
struct RegisterProducers {
  explicit RegisterProducers(std::vector<std::pair<std::string, Producer>> producers);
};

/// A run that holds one run slot of `server` until this object goes (its client then hangs up
/// and the server kills the run): for overload answers, however slow the machine.
class HeldRun {
 public:
  explicit HeldRun(const TestServer& server);
  ~HeldRun();
  HeldRun(const HeldRun&) = delete;
  HeldRun& operator=(const HeldRun&) = delete;
  /// Whether the server reported the run as running.
  bool running() const { return running_; }

 private:
  int fd_ = -1;
  bool running_ = false;
};

}  // namespace pyrunner::testing
