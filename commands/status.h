// Status and Result: how every internal API reports success or failure.
//
// A peer being down is normal in a peer-to-peer system, so internal calls return a Status (or a
// Result<T> carrying a value) instead of throwing. Only the RPC boundary turns a non-ok Status
// into an XML-RPC fault; its numeric code is the ErrorCode below (see docs/faults.md).
//
// Thread-safety: plain values; safe to copy between threads.
#ifndef CHORD_COMMANDS_STATUS_H_
#define CHORD_COMMANDS_STATUS_H_

#include <cassert>
#include <optional>
#include <ostream>
#include <string>
#include <utility>

namespace chord {

// Fault codes on the wire. Stable: clients in other languages switch on them.
enum class ErrorCode : int {
  kOk = 0,
  kBadArgument = 1,     // wrong arity, wrong type, malformed id, over-limit key or value
  kUnknownCommand = 2,  // no command of that name is registered on the node
  kNotFound = 3,        // the thing asked for does not exist
  kUnavailable = 4,     // a peer (or this node) could not be reached or is not in a ring
  kRefused = 5,         // the request is understood but refused (e.g. id already taken)
  kInternal = 6,        // a bug or an unexpected failure inside the node
  kNotOwner = 7,        // the node does not own the id or key (a stale lookup: ask its predecessor)
  kBusy = 8,            // the node serves as many long-running calls (watches) as it allows
  kStorageFailed = 9,   // the node's durable storage could not apply a write (nothing applied)
  // Never on the wire: a command's quick handler cannot answer without blocking, and the call
  // goes to its ordinary handler on a worker thread (see Command::quick).
  kWouldBlock = 100,
};
// The largest code in use: a fault code in 1..kLastErrorCode is one of ours.
inline constexpr ErrorCode kLastErrorCode = ErrorCode::kStorageFailed;

// Short lowercase name of a code ("bad_argument", "unavailable", ...).
const char* ErrorCodeName(ErrorCode code);
inline std::ostream& operator<<(std::ostream& out, ErrorCode code) {
  return out << ErrorCodeName(code);
}

class Status {
 public:
  Status() = default;  // ok
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status BadArgument(std::string m) { return Status(ErrorCode::kBadArgument, std::move(m)); }
  static Status UnknownCommand(std::string m) {
    return Status(ErrorCode::kUnknownCommand, std::move(m));
  }
  static Status NotFound(std::string m) { return Status(ErrorCode::kNotFound, std::move(m)); }
  static Status Unavailable(std::string m) { return Status(ErrorCode::kUnavailable, std::move(m)); }
  static Status Refused(std::string m) { return Status(ErrorCode::kRefused, std::move(m)); }
  static Status Internal(std::string m) { return Status(ErrorCode::kInternal, std::move(m)); }
  static Status NotOwner(std::string m) { return Status(ErrorCode::kNotOwner, std::move(m)); }
  static Status Busy(std::string m) { return Status(ErrorCode::kBusy, std::move(m)); }
  static Status StorageFailed(std::string m) {
    return Status(ErrorCode::kStorageFailed, std::move(m));
  }
  static Status WouldBlock() { return Status(ErrorCode::kWouldBlock, "needs a worker thread"); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "unavailable: connection refused by 127.0.0.1:4000"
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// A value or the Status explaining why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  // An ok Status carries no value: that is a bug (debug builds assert), reported as Internal.
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result built from an ok Status without a value");
    if (status_.ok()) status_ = Status::Internal("a result without a value");
  }
  Result(const Result&) = default;
  Result(Result&&) = default;
  // Assignment rebuilds the value instead of assigning to it: some value types (xmlrpc_c::value)
  // refuse to be assigned once they hold something.
  Result& operator=(const Result& other) {
    if (this != &other) {
      status_ = other.status_;
      value_.reset();
      if (other.value_) value_.emplace(*other.value_);
    }
    return *this;
  }
  Result& operator=(Result&& other) {
    if (this != &other) {
      status_ = std::move(other.status_);
      value_.reset();
      if (other.value_) value_.emplace(std::move(*other.value_));
    }
    return *this;
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  // Precondition: ok(). Reading the value of an error is a bug: debug builds assert.
  const T& value() const& { return Checked(); }
  T& value() & { return Checked(); }
  T value() && { return std::move(Checked()); }  // by value: safe in range-for
  const T& operator*() const& { return Checked(); }
  const T* operator->() const { return &Checked(); }
  T* operator->() { return &Checked(); }

 private:
  const T& Checked() const {
    assert(value_.has_value() && "Result::value() read on an error");
    return *value_;
  }
  T& Checked() {
    assert(value_.has_value() && "Result::value() read on an error");
    return *value_;
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace chord

#endif  // CHORD_COMMANDS_STATUS_H_
