#include "settings/logging.h"

#include <unistd.h>

#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/log/attributes/clock.hpp>
#include <boost/log/attributes/value_extraction.hpp>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/trivial.hpp>
#include <boost/smart_ptr/make_shared_object.hpp>
#include <boost/smart_ptr/shared_ptr.hpp>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace chord {
namespace {

namespace blog = boost::log;
using Severity = blog::trivial::severity_level;
using Sink = blog::sinks::synchronous_sink<blog::sinks::text_ostream_backend>;

constexpr char kTimeStampAttribute[] = "TimeStamp";

// Guards g_sinks and the sequence "remove old sinks, add new ones, set filter".
std::mutex g_mutex;
// Sinks installed by the last InitLogging call.
std::vector<boost::shared_ptr<Sink>> g_sinks;

bool ParseLevel(const std::string& name, Severity* level) {
  static const std::pair<const char*, Severity> kLevels[] = {
      {"trace", blog::trivial::trace}, {"debug", blog::trivial::debug},
      {"info", blog::trivial::info},   {"warning", blog::trivial::warning},
      {"error", blog::trivial::error}, {"fatal", blog::trivial::fatal},
  };
  for (const auto& entry : kLevels) {
    if (name == entry.first) {
      if (level != nullptr) *level = entry.second;
      return true;
    }
  }
  return false;
}

// Writes "YYYY-MM-DD HH:MM:SS.mmm [level] tag: message".
void FormatRecord(const std::string& tag, const blog::record_view& record,
                  blog::formatting_ostream& out) {
  if (auto stamp = blog::extract<boost::posix_time::ptime>(kTimeStampAttribute, record)) {
    const boost::posix_time::ptime& time = stamp.get();
    if (!time.is_special()) {
      const auto ymd = time.date().year_month_day();
      const boost::posix_time::time_duration of_day = time.time_of_day();
      char text[64];
      std::snprintf(text, sizeof(text), "%04d-%02d-%02d %02d:%02d:%02d.%03d ",
                    static_cast<int>(ymd.year), static_cast<int>(ymd.month),
                    static_cast<int>(ymd.day), static_cast<int>(of_day.hours()),
                    static_cast<int>(of_day.minutes()), static_cast<int>(of_day.seconds()),
                    static_cast<int>(of_day.total_milliseconds() % 1000));
      out << text;
    }
  }
  if (auto severity = record[blog::trivial::severity]) {
    out << '[' << severity.get() << "] ";
  }
  if (!tag.empty()) out << tag << ": ";
  if (auto message = record[blog::expressions::smessage]) out << message.get();
}

// A stream buffer that keeps what is written until flushed, then hands it to stderr in one
// write(2). Several processes (a launcher and its nodes) share one terminal: a record written in
// pieces (the message, then its newline) would let another process's line land in between.
// Used by one sink only, whose frontend serializes the records.
class WholeRecordBuffer : public std::streambuf {
 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) pending_ += char(c);
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* text, std::streamsize count) override {
    pending_.append(text, size_t(count));
    return count;
  }
  int sync() override {
    size_t done = 0;
    // Bounded: each round writes at least one byte or gives up.
    while (done < pending_.size()) {
      ssize_t n = ::write(STDERR_FILENO, pending_.data() + done, pending_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += size_t(n);
    }
    pending_.clear();
    return 0;
  }

 private:
  std::string pending_;
};

// stderr for log records, each record in one write.
boost::shared_ptr<std::ostream> StderrStream() {
  struct Stream : std::ostream {
    Stream() : std::ostream(&buffer) {}
    WholeRecordBuffer buffer;
  };
  return boost::make_shared<Stream>();
}

boost::shared_ptr<Sink> MakeSink(boost::shared_ptr<std::ostream> stream, const std::string& tag) {
  auto backend = boost::make_shared<blog::sinks::text_ostream_backend>();
  backend->add_stream(std::move(stream));
  backend->auto_flush(true);
  auto sink = boost::make_shared<Sink>(backend);
  sink->set_formatter([tag](const blog::record_view& record, blog::formatting_ostream& out) {
    FormatRecord(tag, record, out);
  });
  return sink;
}

void SetFilterLocked(Severity level) {
  blog::core::get()->set_filter(blog::trivial::severity >= level);
}

}  // namespace

bool IsValidLogLevel(const std::string& level) { return ParseLevel(level, nullptr); }

std::string InitLogging(const std::string& level, const std::string& file_path,
                        const std::string& tag) {
  Severity severity = blog::trivial::info;
  if (!ParseLevel(level, &severity)) {
    return "invalid log level '" + level +
           "' (must be one of trace, debug, info, warning, error, fatal)";
  }

  // Prepare everything that can fail before touching the current configuration.
  std::vector<boost::shared_ptr<Sink>> sinks;
  sinks.push_back(MakeSink(StderrStream(), tag));
  if (!file_path.empty()) {
    auto file = boost::make_shared<std::ofstream>(file_path, std::ios::out | std::ios::app);
    if (!file->is_open()) return "cannot open log file '" + file_path + "' for appending";
    sinks.push_back(MakeSink(file, tag));
  }

  std::lock_guard<std::mutex> lock(g_mutex);
  const boost::shared_ptr<blog::core> core = blog::core::get();
  // No-op if the attribute already exists (InitLogging called before).
  core->add_global_attribute(kTimeStampAttribute, blog::attributes::local_clock());
  for (const auto& old_sink : g_sinks) {
    core->remove_sink(old_sink);
    old_sink->flush();
  }
  g_sinks = std::move(sinks);
  for (const auto& sink : g_sinks) core->add_sink(sink);
  SetFilterLocked(severity);
  return "";
}

bool SetLogLevel(const std::string& level) {
  Severity severity = blog::trivial::info;
  if (!ParseLevel(level, &severity)) return false;
  std::lock_guard<std::mutex> lock(g_mutex);
  SetFilterLocked(severity);
  return true;
}

}  // namespace chord
