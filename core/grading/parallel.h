#pragma once
/// Runs numbered tasks on a few threads, handed out in index order.

#include <cstddef>
#include <functional>

namespace pyrunner::grading {

/// Calls `task(i)` for i = 0..n-1, at most `parallelism` at once (the calling thread is one of
/// the workers), handing indices out in increasing order. Once a task returns false no new
/// index is handed out; the tasks already started finish. Returns when every started task has.
void run_indexed(size_t n, size_t parallelism, const std::function<bool(size_t)>& task);

}  // namespace pyrunner::grading
