// How deeply a JSON text nests, found by one linear scan that builds
// nothing. Why: a tree parser recurses (nlohmann's parse and dump do), so
// an array nested 100,000 deep in a 200 KB body overflows the stack and
// kills the process; checking the depth first makes it a clear 400.
#pragma once

#include <cstddef>
#include <string_view>

namespace refinery {

// The deepest nesting of objects and arrays in `text` (0 for a scalar),
// counting only brackets outside strings. Stops scanning as soon as the
// depth exceeds `stop_above` and returns that depth. It does not validate
// the text: malformed JSON gets some depth, and the parser rejects it after.
size_t JsonNestingDepth(std::string_view text, size_t stop_above);

// Whether `text` nests at most `max_depth` levels.
inline bool JsonDepthWithin(std::string_view text, size_t max_depth) {
  return JsonNestingDepth(text, max_depth) <= max_depth;
}

}  // namespace refinery
