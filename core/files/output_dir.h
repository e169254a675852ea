#pragma once
/// `pyrunner run --output-dir DIR`: the files a run wrote and the figures it displayed, saved
/// on the host. The paths come from the sandboxed program, so each is checked again and written
/// beneath DIR without following any link.

#include <string>

#include "core/model/result.h"
#include "core/util/status.h"

namespace pyrunner {

/// Writes every file of `result` with its content under `dir` (created if missing), then every
/// figure of its results as figure-1.png, figure-2.svg... (the next free number when a file of
/// the run has that name). Afterwards the result lists each of them in `files` without content,
/// and the figures' images in `results` are replaced by their file name in the metadata
/// ({"image/png": {"filename": "figure-1.png", ...}}). Files that came back without content
/// (over the caps) stay listed with `omitted`.
Status save_outputs(const std::string& dir, RunResult* result);

}  // namespace pyrunner
