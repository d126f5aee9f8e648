#include <gtest/gtest.h>

#include "core/hash.h"
#include "core/status.h"
#include "core/utf8.h"

namespace refinery {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Utf8, AcceptsWellFormedRejectsMalformed) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(Status, CodesAndTransience) {
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_TRUE(Status::Unavailable("db down").transient());
  EXPECT_TRUE(Status::Timeout("slow").transient());
  EXPECT_FALSE(Status::InvalidArgument("bad").transient());
  EXPECT_EQ(Status::NotFound("document 7").ToString(), "not_found: document 7");
  Result<int> failed = Status::Conflict("moved");
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kConflict);
}

}  // namespace
}  // namespace refinery
