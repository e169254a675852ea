#pragma once
// Owning file descriptor and the few fd helpers the executor and pool share.

#include <unistd.h>

#include <string>
#include <utility>

namespace pyrunner {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

/// Writes all of `data` (retrying on EINTR and short writes). False on error, errno set.
bool write_all(int fd, const void* data, size_t size);
/// Reads exactly `size` bytes. False on EOF or error.
bool read_exact(int fd, void* data, size_t size);
/// Reads a small text file whole ("" when it cannot be read).
std::string read_small_file(const std::string& path);
/// Writes `value` to an existing (e.g. cgroup or /proc) file. errno set on failure.
bool write_file(const std::string& path, const std::string& value);

}  // namespace pyrunner
