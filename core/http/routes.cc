#include "core/http/services.h"

namespace pyrunner {

std::vector<Route> all_routes(Services& services) {
  std::vector<Route> routes;
  for (auto table : {run_routes, info_routes, grading_routes, session_routes, judge0_routes,
                     piston_routes, mcp_routes, playground_routes}) {
    auto more = table(services);
    routes.insert(routes.end(), std::make_move_iterator(more.begin()),
                  std::make_move_iterator(more.end()));
  }
  return routes;
}

}  // namespace pyrunner
