#include "commands/status.h"

namespace chord {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kBadArgument:
      return "bad_argument";
    case ErrorCode::kUnknownCommand:
      return "unknown_command";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kRefused:
      return "refused";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kNotOwner:
      return "not_owner";
    case ErrorCode::kWouldBlock:
      return "would_block";
    case ErrorCode::kBusy:
      return "busy";
    case ErrorCode::kStorageFailed:
      return "storage_failed";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(ErrorCodeName(code_)) + ": " + message_;
}

}  // namespace chord
