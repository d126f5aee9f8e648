// Wall-clock time as epoch seconds (what the store and queue record).
#pragma once

#include <chrono>

namespace refinery {

inline double NowSeconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

// Seconds on the steady clock: for intervals and deadlines inside one
// process, which must not jump with the wall clock.
inline double MonotonicSeconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace refinery
