#include "core/http/server.h"
namespace pyrunner {
int serve_forever(const Config&, const std::string&) { return 70; }
}  // namespace pyrunner
