// Wall-clock time as epoch seconds (what the store and queue record).
#pragma once

#include <chrono>

namespace refinery {

inline double NowSeconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace refinery
