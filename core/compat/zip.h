#pragma once
/// Reads a ZIP archive held in memory (Judge0's additional_files) into files for a run's
/// working directory. Nothing is written anywhere: the entries become request files, which the
/// runner writes inside the sandbox. Refused, with the reason: absolute paths, '..', links and
/// other special entries, encrypted or ZIP64 entries, methods other than stored and deflate,
/// more than `max_entries` files, more than `max_total_bytes` uncompressed (checked while
/// inflating, so a zip bomb stops at the limit), and a body that is not a ZIP archive.

#include <string>
#include <string_view>
#include <vector>

#include "core/model/request.h"
#include "core/util/status.h"

namespace pyrunner::compat {

struct ZipLimits {
  size_t max_entries = 100;
  size_t max_total_bytes = 64 << 20;
};

Result<std::vector<InputFile>> unzip(std::string_view archive, const ZipLimits& limits);

}  // namespace pyrunner::compat
