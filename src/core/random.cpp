#include "core/random.h"

#include <unistd.h>

namespace refinery {

std::mt19937_64& ProcessRng() {
  thread_local std::mt19937_64 rng;
  thread_local pid_t seeded_for = -1;
  if (seeded_for != ::getpid()) {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), static_cast<unsigned>(::getpid())};
    rng.seed(seed);
    seeded_for = ::getpid();
  }
  return rng;
}

double UniformUnit() { return std::uniform_real_distribution<double>(0.0, 1.0)(ProcessRng()); }

std::string RandomHex(int bits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(static_cast<size_t>(bits / 4));
  uint64_t word = 0;
  for (int i = 0; i < bits / 4; ++i) {
    if (i % 16 == 0) word = ProcessRng()();
    out += kDigits[word & 0xf];
    word >>= 4;
  }
  return out;
}

}  // namespace refinery
