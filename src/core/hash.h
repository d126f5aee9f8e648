// Content hashing.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace refinery {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Whether `text` is 1..max_chars lower-case hex digits (a hash key a
// backend may quote into a literal).
inline bool IsLowerHex(std::string_view text, size_t max_chars) {
  if (text.empty() || text.size() > max_chars) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace refinery
