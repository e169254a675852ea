#include "core/compat/zip.h"

#include <sys/stat.h>
#include <zlib.h>

#include <cstring>
#include <set>

#include "core/validator/validator.h"

namespace pyrunner::compat {
namespace {

constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr uint32_t kCentralEntry = 0x02014b50;
constexpr uint32_t kLocalEntry = 0x04034b50;

uint16_t u16(std::string_view s, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(s[at]) |
                               (static_cast<unsigned char>(s[at + 1]) << 8));
}
uint32_t u32(std::string_view s, size_t at) {
  return static_cast<uint32_t>(u16(s, at)) | (static_cast<uint32_t>(u16(s, at + 2)) << 16);
}

Status bad(const std::string& why) { return Status::Error("not a usable zip archive: " + why); }

// Raw deflate of `in` into at most `expected` bytes; more is an error (the size lied).
Result<std::string> inflate_exactly(std::string_view in, size_t expected) {
  std::string out(expected, '\0');
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return Status::Error("inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&z, Z_FINISH);
  if (rc == Z_BUF_ERROR && z.avail_out == 0) {
    // Output space is exhausted: fine only if the stream also ended here.
    unsigned char extra;
    z.next_out = &extra;
    z.avail_out = 1;
    rc = inflate(&z, Z_FINISH);
    if (rc != Z_STREAM_END || z.avail_out == 0) {
      inflateEnd(&z);
      return Status::Error("an entry inflates to more than its declared size");
    }
  }
  const bool ended = rc == Z_STREAM_END;
  const size_t written = z.total_out;
  inflateEnd(&z);
  if (!ended) return Status::Error("an entry's compressed data is corrupt");
  if (written != expected) return Status::Error("an entry's size does not match its data");
  return out;
}

}  // namespace

Result<std::vector<InputFile>> unzip(std::string_view zip, const ZipLimits& limits) {
  // The end-of-central-directory record: in the last 64 KiB + 22 bytes.
  if (zip.size() < 22) return bad("too short");
  size_t eocd = std::string_view::npos;
  const size_t lowest = zip.size() > 65557 ? zip.size() - 65557 : 0;
  for (size_t at = zip.size() - 22 + 1; at-- > lowest;) {
    if (u32(zip, at) == kEndOfDirectory) {
      eocd = at;
      break;
    }
  }
  if (eocd == std::string_view::npos) return bad("no end of central directory");
  const size_t count = u16(zip, eocd + 10);
  const size_t dir_size = u32(zip, eocd + 12), dir_offset = u32(zip, eocd + 16);
  if (count == 0xFFFF || dir_offset == 0xFFFFFFFF) return bad("ZIP64 archives are not supported");
  if (dir_offset + dir_size > eocd) return bad("the central directory is out of bounds");
  std::vector<InputFile> files;
  std::set<std::string> names;
  size_t total = 0, at = dir_offset;
  for (size_t i = 0; i < count; ++i) {
    if (at + 46 > eocd || u32(zip, at) != kCentralEntry)
      return bad("a central directory entry is corrupt");
    const uint16_t made_by = u16(zip, at + 4), flags = u16(zip, at + 8), method = u16(zip, at + 10);
    const uint32_t crc = u32(zip, at + 16), compressed = u32(zip, at + 20),
                   size = u32(zip, at + 24);
    const uint16_t name_len = u16(zip, at + 28), extra_len = u16(zip, at + 30),
                   comment_len = u16(zip, at + 32);
    const uint32_t external = u32(zip, at + 38), local = u32(zip, at + 42);
    if (at + 46 + name_len > eocd) return bad("an entry name is out of bounds");
    std::string name(zip.substr(at + 46, name_len));
    at += 46 + name_len + extra_len + comment_len;
    const std::string what = "entry '" + name + "': ";
    if (flags & 1) return Status::Error(what + "encrypted entries are not supported");
    if (compressed == 0xFFFFFFFF || size == 0xFFFFFFFF)
      return Status::Error(what + "ZIP64 entries are not supported");
    // Unix mode in the high half of the external attributes (made on Unix: host 3). Some
    // writers (Python's ZipFile.writestr) leave the file type bits out: no type is a file.
    const unsigned mode = (made_by >> 8) == 3 ? external >> 16 : 0;
    const bool directory = (!name.empty() && name.back() == '/') || S_ISDIR(mode);
    if ((mode & S_IFMT) != 0 && !S_ISREG(mode) && !S_ISDIR(mode))
      return Status::Error(what + (S_ISLNK(mode)
                                       ? "links are not allowed"
                                       : "only regular files and directories are allowed"));
    if (name.find('\\') != std::string::npos)
      return Status::Error(what + "backslashes are not allowed in paths");
    std::string path = directory ? name.substr(0, name.size() - 1) : name;
    if (auto reason = relative_path_error(path)) return Status::Error(what + "path " + *reason);
    if (directory) continue;
    if (!names.insert(path).second) return Status::Error(what + "duplicate entry");
    if (files.size() + 1 > limits.max_entries)
      return Status::Error("more than " + std::to_string(limits.max_entries) + " files");
    total += size;
    if (total > limits.max_total_bytes)
      return Status::Error("more than " + std::to_string(limits.max_total_bytes) +
                           " bytes uncompressed");
    if (static_cast<size_t>(local) + 30 > zip.size() || u32(zip, local) != kLocalEntry)
      return Status::Error(what + "its local header is corrupt");
    const size_t data = local + 30 + u16(zip, local + 26) + u16(zip, local + 28);
    if (data + compressed > zip.size()) return Status::Error(what + "its data is out of bounds");
    const std::string_view raw = zip.substr(data, compressed);
    InputFile file{path, ""};
    if (method == 0) {
      if (compressed != size) return Status::Error(what + "stored sizes differ");
      file.content.assign(raw);
    } else if (method == 8) {
      auto inflated = inflate_exactly(raw, size);
      if (!inflated.ok()) return Status::Error(what + inflated.status().message());
      file.content = std::move(inflated.value());
    } else {
      return Status::Error(what + "compression method " + std::to_string(method) +
                           " is not supported (stored or deflate)");
    }
    if (crc32(0L, reinterpret_cast<const Bytef*>(file.content.data()),
              static_cast<uInt>(file.content.size())) != crc)
      return Status::Error(what + "CRC mismatch");
    files.push_back(std::move(file));
  }
  return files;
}

}  // namespace pyrunner::compat
