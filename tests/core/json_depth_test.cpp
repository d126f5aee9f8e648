#include "core/json_depth.h"

#include <gtest/gtest.h>

#include <string>

namespace refinery {
namespace {

TEST(JsonDepth, CountsObjectsAndArraysOutsideStrings) {
  EXPECT_EQ(JsonNestingDepth("42", 64), 0u);
  EXPECT_EQ(JsonNestingDepth("{}", 64), 1u);
  EXPECT_EQ(JsonNestingDepth(R"({"a": [1, {"b": []}], "c": {}})", 64), 4u);
  // Brackets inside strings, also after escaped quotes and backslashes, do not count.
  EXPECT_EQ(JsonNestingDepth(R"({"a": "[[[{{{", "b": "\"[[", "c": "\\"})", 64), 1u);
  EXPECT_EQ(JsonNestingDepth(R"(["\\\"[[["])", 64), 1u);
}

TEST(JsonDepth, StopsAsSoonAsTheLimitIsPassed) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(JsonNestingDepth(deep, 64), 65u);
  EXPECT_FALSE(JsonDepthWithin(deep, 64));
  const std::string at_limit = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(JsonDepthWithin(at_limit, 64));
  EXPECT_FALSE(JsonDepthWithin("[" + at_limit + "]", 64));
}

TEST(JsonDepth, MalformedTextGetsSomeDepthWithoutCrashing) {
  EXPECT_EQ(JsonNestingDepth("]]]}}}", 64), 0u);
  EXPECT_EQ(JsonNestingDepth("[[[", 64), 3u);
  EXPECT_EQ(JsonNestingDepth("\"unterminated [[[", 64), 0u);
}

}  // namespace
}  // namespace refinery
