#pragma once
// Errors are values inside core/: a Status names the step, the exact call and errno.

#include <optional>
#include <string>
#include <utility>

namespace pyrunner {

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }
  /// `call` failed with `err` (an errno): "mount("tmpfs", "/tmp"): EPERM (Operation not
  /// permitted)".
  static Status Sys(const std::string& call, int err);

  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }
  /// Prefixes the message with the step that failed: "sandbox/mounts: ...".
  Status& within(const std::string& step);

 private:
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}
  bool failed_ = false;
  std::string message_;
};

/// Either a value or the Status saying why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)), ok_(true) {}  // NOLINT(implicit)
  Result(Status status) : status_(std::move(status)) {}     // NOLINT(implicit)
  bool ok() const { return ok_; }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
  bool ok_ = false;
};

/// "EPERM (Operation not permitted)".
std::string errno_text(int err);

}  // namespace pyrunner
