#include "core/grading/parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace pyrunner::grading {

void run_indexed(size_t n, size_t parallelism, const std::function<bool(size_t)>& task) {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  const auto work = [&] {
    while (!stop.load()) {
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      if (!task(i)) stop = true;
    }
  };
  const size_t threads = std::clamp<size_t>(parallelism, 1, std::max<size_t>(n, 1));
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t) helpers.emplace_back(work);
  work();
  for (auto& h : helpers) h.join();
}

}  // namespace pyrunner::grading
