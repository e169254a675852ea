#include "core/files/output_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "core/util/base64.h"
#include "core/util/fd.h"
#include "core/validator/validator.h"

namespace pyrunner {
namespace {

using json = nlohmann::ordered_json;

// The figure formats and the extension each is saved with.
constexpr std::pair<const char*, const char*> kFigureTypes[] = {{"image/png", "png"},
                                                                {"image/svg+xml", "svg"},
                                                                {"image/jpeg", "jpeg"},
                                                                {"application/pdf", "pdf"}};

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// Writes `bytes` to `path` (relative, checked) under `root`, creating directories, never
// following a link.
Status write_beneath(int root, const std::string& path, const std::string& bytes) {
  UniqueFd dir(dup(root));
  size_t start = 0;
  for (size_t slash; (slash = path.find('/', start)) != std::string::npos; start = slash + 1) {
    const std::string part = path.substr(start, slash - start);
    if (mkdirat(dir.get(), part.c_str(), 0755) != 0 && errno != EEXIST)
      return Status::Sys("mkdirat(\"" + path.substr(0, slash) + "\")", errno);
    UniqueFd next(openat(dir.get(), part.c_str(), kDirFlags));
    if (!next.valid()) return Status::Sys("openat(\"" + path.substr(0, slash) + "\")", errno);
    dir = std::move(next);
  }
  UniqueFd file(openat(dir.get(), path.c_str() + start,
                       O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!file.valid()) return Status::Sys("openat(\"" + path + "\", O_CREAT)", errno);
  if (!write_all(file.get(), bytes.data(), bytes.size()))
    return Status::Sys("write(\"" + path + "\")", errno);
  return Status::Ok();
}

Status make_dir(const std::string& dir) {
  for (size_t pos = 0; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    const std::string part = dir.substr(0, pos);
    if (!part.empty() && mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
      return Status::Sys("mkdir(\"" + part + "\")", errno);
  }
  return Status::Ok();
}

}  // namespace

Status save_outputs(const std::string& dir, RunResult* result) {
  if (auto s = make_dir(dir); !s.ok()) return s.within("--output-dir");
  UniqueFd root(open(dir.c_str(), kDirFlags));
  if (!root.valid()) return Status::Sys("open(\"" + dir + "\")", errno).within("--output-dir");

  std::set<std::string> taken;
  json files = json::array();
  for (auto& file : result->files) {
    const std::string path = file["path"].get<std::string>();
    if (relative_path_error(path)) continue;  // not a name we write: a program's invention
    taken.insert(path);
    if (file["content"].is_string()) {
      auto bytes = base64_decode(file["content"].get_ref<const std::string&>());
      if (!bytes) continue;
      if (auto s = write_beneath(root.get(), path, *bytes); !s.ok())
        return s.within("--output-dir");
      file["content"] = nullptr;
    }
    files.push_back(std::move(file));
  }
  int figure = 0;
  for (auto& item : result->results) {
    auto& data = item["data"];
    const auto is_figure = [&data](const auto& type) { return data.contains(type.first); };
    if (std::none_of(std::begin(kFigureTypes), std::end(kFigureTypes), is_figure)) continue;
    // One number per figure, whatever its formats: the next that no file of the run has.
    const auto name_for = [&figure](const char* ext) {
      return "figure-" + std::to_string(figure) + "." + ext;
    };
    do {
      ++figure;
    } while (std::any_of(std::begin(kFigureTypes), std::end(kFigureTypes),
                         [&](const auto& type) { return taken.count(name_for(type.second)); }));
    for (const auto& [mime, ext] : kFigureTypes) {
      auto it = data.find(mime);
      if (it == data.end() || !it->is_string()) continue;
      const bool binary = std::string_view(mime) != "image/svg+xml";
      std::optional<std::string> bytes =
          binary ? base64_decode(it->get_ref<const std::string&>()) : it->get<std::string>();
      if (!bytes) continue;
      const std::string name = name_for(ext);
      if (auto s = write_beneath(root.get(), name, *bytes); !s.ok())
        return s.within("--output-dir");
      files.push_back(
          {{"path", name}, {"size", bytes->size()}, {"mime", mime}, {"content", nullptr}});
      item["metadata"][mime]["filename"] = name;
      data.erase(it);
    }
  }
  result->files = std::move(files);
  return Status::Ok();
}

}  // namespace pyrunner
