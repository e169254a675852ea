#pragma once
// The MIME type of a file by its name, for files the server hands out itself (a session's
// files route); the runner uses Python's mimetypes for the files it lists.

#include <string>
#include <string_view>

namespace pyrunner {

/// "text/csv" for "data/x.csv"; "application/octet-stream" when the extension is unknown.
std::string mime_type_of(std::string_view path);

}  // namespace pyrunner
