// Status and Result<T>: expected failures are values, not exceptions.
// Exceptions are caught only at request, job and process boundaries.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace refinery {

// A closed set of failure kinds; each maps to one HTTP status and one retry
// decision, so callers branch on the code, never on message text.
enum class StatusCode {
  kOk,
  kInvalidArgument,  // bad input: 400, never retried
  kNotFound,         // 404
  kConflict,         // state moved underneath us (e.g. stage compare-and-set): 409
  kUnavailable,      // a dependency is down or busy: 503, retried
  kTimeout,          // a dependency did not answer in time: 503, retried
  kLeaseLost,        // our queue lease expired and someone else may hold the job
  kInternal,         // a bug or corrupted data: 500
};

// Short stable name for a code ("not_found"), used in JSON error bodies.
const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
  static Status LeaseLost(std::string m) { return {StatusCode::kLeaseLost, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // True for failures worth retrying later (dependency outages).
  bool transient() const { return code_ == StatusCode::kUnavailable || code_ == StatusCode::kTimeout; }
  // "not_found: document 7 does not exist"
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  // REQUIRES: ok()
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace refinery

// Propagates a non-OK Status from an expression returning Status.
#define REFINERY_RETURN_IF_ERROR(expr)                   \
  do {                                                   \
    ::refinery::Status refinery_status_ = (expr);        \
    if (!refinery_status_.ok()) return refinery_status_; \
  } while (0)
