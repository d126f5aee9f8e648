// The one byte encoding of an embedding, float32 little-endian, in SQLite
// blobs and PostgreSQL bytea alike: the same bytes on every host and store.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace refinery {

std::string EncodeFloats(const std::vector<float>& values);
// `bytes` / 4 floats; a trailing partial float is ignored.
std::vector<float> DecodeFloats(const void* data, size_t bytes);

}  // namespace refinery
