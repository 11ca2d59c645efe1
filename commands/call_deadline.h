// CallDeadline: when the caller of the command being served stops waiting for its answer.
//
// A caller that times out moves on: the Router tries the next node of the chain, a client
// retries elsewhere. The request it gave up on may still be served later, by a node that was
// frozen (SIGSTOP, a VM pause, a long GC-like stall) with the request in its socket buffer. A
// write served that late would be stamped with a version newer than the writes acknowledged in
// the meantime, and would bring an old value back for good. So HttpClient sends every request's
// deadline (wall-clock unix ms, header X-Chord-Deadline), the XML-RPC server makes it the
// current deadline while the command runs, and commands that apply writes refuse to apply one
// past it (see Dht::WriteAsOwner). Deadlines compare wall clocks across machines, as versions
// already do: clocks must agree to well within a call's time-out (NTP does).
//
// Thread-safety: the current deadline is per thread. A Scope sets it for the thread that
// creates it, until it is destroyed; scopes nest.
#ifndef CHORD_COMMANDS_CALL_DEADLINE_H_
#define CHORD_COMMANDS_CALL_DEADLINE_H_

#include <cstdint>
#include <string_view>

namespace chord {

class CallDeadline {
 public:
  // The HTTP header that carries the deadline, in unix ms.
  static constexpr const char* kHeader = "X-Chord-Deadline";

  // The deadline of the call this thread serves, in unix ms; 0 when there is none (an
  // in-process call, a client that sent no deadline).
  static int64_t Current();
  // True if this thread serves a call whose caller has already given up.
  static bool Passed();

  // Parses a header value: decimal unix ms. Anything else, or a missing header, gives 0 (no
  // deadline): a malformed deadline must not make a node refuse writes.
  static int64_t Parse(std::string_view header_value);

  class Scope {
   public:
    explicit Scope(int64_t deadline_unix_ms);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    int64_t previous_;
  };
};

}  // namespace chord

#endif  // CHORD_COMMANDS_CALL_DEADLINE_H_
