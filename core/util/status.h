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

/// A bug: `what` was asked of something that holds the error `status`. Prints both and aborts.
[[noreturn]] void abort_on_error(const char* what, const Status& status);

/// Either a value or the Status saying why there is none. Asking an error for its value is a
/// bug that stops the process with the error's text, never undefined behaviour.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)), ok_(true) {}  // NOLINT(implicit)
  Result(Status status) : status_(std::move(status)) {      // NOLINT(implicit)
    if (status_.ok()) status_ = Status::Error("no value (constructed from an ok Status)");
  }
  bool ok() const { return ok_; }
  const Status& status() const { return status_; }
  T& value() { return checked(); }
  const T& value() const { return const_cast<Result*>(this)->checked(); }
  T* operator->() { return &checked(); }
  const T* operator->() const { return &const_cast<Result*>(this)->checked(); }
  T& operator*() { return checked(); }

 private:
  T& checked() {
    if (!ok_) abort_on_error("Result::value()", status_);
    return *value_;
  }

  std::optional<T> value_;
  Status status_;
  bool ok_ = false;
};

/// "EPERM (Operation not permitted)".
std::string errno_text(int err);

}  // namespace pyrunner
