// CreateLoggerBeforeThreads: every owner of threads calls it before it starts one.
//
// Boost.Log creates the logger behind BOOST_LOG_TRIVIAL on first use, guarded by a
// double-checked lock whose fast path is a plain, non-atomic read of a flag
// (boost/log/utility/once_block.hpp, Boost 1.74). Two threads that log for the first time at
// once thus race on the logger being built: ThreadSanitizer reports it (a thread reads the
// logger's core pointer while another constructs it), and by the C++ memory model it is
// undefined behaviour. Creating the logger before a thread starts orders it before everything
// that thread does.
//
// Thread-safety: safe from any thread; cheap after the first call.
#ifndef CHORD_COMMANDS_LOGGER_BEFORE_THREADS_H_
#define CHORD_COMMANDS_LOGGER_BEFORE_THREADS_H_

#include <boost/log/trivial.hpp>

namespace chord {

inline void CreateLoggerBeforeThreads() { boost::log::trivial::logger::get(); }

}  // namespace chord

#endif  // CHORD_COMMANDS_LOGGER_BEFORE_THREADS_H_
