// The one source of randomness: lease tokens, consumer names, blob key
// nonces and backoff jitter all draw from it.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace refinery {

// Per thread, seeded from the OS; reseeded after fork() so a child never
// repeats its parent's lease tokens, names or jitter.
std::mt19937_64& ProcessRng();

// Uniform in [0, 1).
double UniformUnit();

// `bits` random bits (a multiple of 4) as lower-case hex.
std::string RandomHex(int bits);

}  // namespace refinery
