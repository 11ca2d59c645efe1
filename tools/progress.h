// ProgressLine: one line of progress ("starting nodes: 3/8", "put-file: 12.0 of 20.0 MiB") that
// rewrites itself in place on a terminal, and shows nothing elsewhere (a pipe or a file would
// only collect carriage returns).
//
// The line is written whole (one write per update) and ended with a newline by Done() (or the
// destructor) before anything else is printed, so that output and log lines never run into it.
// Programs whose children may log to the same terminal meanwhile enable it only when those
// children log nothing routine (create_chord: nodes at warning or above).
//
// Thread-safety: one owner thread. Lifetime: writes to `out` until destroyed.
#ifndef CHORD_TOOLS_PROGRESS_H_
#define CHORD_TOOLS_PROGRESS_H_

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string>

namespace chord {

class ProgressLine {
 public:
  // Shows progress on `out` only if `enabled` (e.g. isatty(STDERR_FILENO)).
  ProgressLine(std::ostream& out, bool enabled) : out_(out), enabled_(enabled) {}
  ~ProgressLine() { Done(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Replaces the line with `text`.
  void Show(const std::string& text) {
    if (!enabled_) return;
    // Carriage return, the text, then erase what a longer earlier text left on the line.
    out_ << ("\r" + text + "\033[K") << std::flush;
    shown_ = true;
  }
  // Ends the line, if one is shown, so that what comes next starts on a fresh line.
  void Done() {
    if (!shown_) return;
    out_ << "\n" << std::flush;
    shown_ = false;
  }

  // "12.0 of 20.0 MiB (60%)"; `total` 0: unknown.
  static std::string Bytes(uint64_t done, uint64_t total) {
    char text[96];
    const double mib = 1024.0 * 1024.0;
    if (total == 0) {
      std::snprintf(text, sizeof(text), "%.1f MiB", double(done) / mib);
    } else {
      std::snprintf(text, sizeof(text), "%.1f of %.1f MiB (%d%%)", double(done) / mib,
                    double(total) / mib, int(100.0 * double(done) / double(total)));
    }
    return text;
  }

 private:
  std::ostream& out_;
  bool enabled_;
  bool shown_ = false;
};

// True if the file descriptor is a terminal.
inline bool IsTerminal(int fd) { return isatty(fd) == 1; }

}  // namespace chord

#endif  // CHORD_TOOLS_PROGRESS_H_
