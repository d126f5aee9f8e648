#include "core/vector_bytes.h"

#include <bit>
#include <cstdint>

namespace refinery {

std::string EncodeFloats(const std::vector<float>& values) {
  std::string out(values.size() * 4, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    const auto bits = std::bit_cast<uint32_t>(values[i]);
    for (size_t b = 0; b < 4; ++b) out[i * 4 + b] = static_cast<char>((bits >> (8 * b)) & 0xffu);
  }
  return out;
}

std::vector<float> DecodeFloats(const void* data, size_t bytes) {
  const auto* in = static_cast<const unsigned char*>(data);
  std::vector<float> out(bytes / 4);
  for (size_t i = 0; i < out.size(); ++i) {
    uint32_t bits = 0;
    for (size_t b = 0; b < 4; ++b) bits |= static_cast<uint32_t>(in[i * 4 + b]) << (8 * b);
    out[i] = std::bit_cast<float>(bits);
  }
  return out;
}

}  // namespace refinery
