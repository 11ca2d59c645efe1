#include "commands/call_deadline.h"

#include <charconv>

#include "commands/auth.h"

namespace chord {
namespace {
thread_local int64_t current_deadline_ms = 0;
}  // namespace

int64_t CallDeadline::Current() { return current_deadline_ms; }

bool CallDeadline::Passed() {
  return current_deadline_ms != 0 && UnixMillis() > current_deadline_ms;
}

int64_t CallDeadline::Parse(std::string_view header_value) {
  int64_t value = 0;
  const char* end = header_value.data() + header_value.size();
  auto [rest, error] = std::from_chars(header_value.data(), end, value);
  if (error != std::errc() || rest != end || value <= 0) return 0;
  return value;
}

CallDeadline::Scope::Scope(int64_t deadline_unix_ms) : previous_(current_deadline_ms) {
  current_deadline_ms = deadline_unix_ms;
}

CallDeadline::Scope::~Scope() { current_deadline_ms = previous_; }

}  // namespace chord
