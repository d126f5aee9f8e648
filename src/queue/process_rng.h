// Randomness for lease tokens, consumer names and backoff jitter.
#pragma once

#include <random>

namespace refinery {

// Per thread; reseeded after fork() so a child never repeats its parent's
// lease tokens or names.
std::mt19937_64& ProcessRng();

}  // namespace refinery
