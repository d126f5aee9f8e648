#include "support/pipeline_checks.h"

#include <algorithm>
#include <memory>

#include <gtest/gtest.h>

#include "support/raw_sqlite.h"
#include "text/chunker.h"

namespace refinery::testing {

int64_t CompleteCount(const RefineryUp& up) {
  return up.Get("/stats").at("documents_by_stage").value("complete", int64_t{0});
}

int64_t CountSqlite(const std::string& db_path, const std::string& sql) {
  return RawSqlite(db_path, /*read_only=*/true).Int(sql);
}

int ExpectChunksExact(const RefineryUp& up, const std::map<int64_t, ScifactDoc>& by_id) {
  ChunkerOptions options;  // the defaults `refinery up` runs with
  int differing = 0;
  for (const auto& [id, doc] : by_id) {
    auto expected = ChunkText(doc.text, options);
    auto chunks = up.Get("/documents/" + std::to_string(id) + "/chunks").at("chunks");
    EXPECT_EQ(chunks.size(), expected.size()) << "document " << id;
    bool same = chunks.size() == expected.size();
    for (size_t i = 0; i < std::min(chunks.size(), expected.size()); ++i) {
      const auto& chunk = chunks[i];
      const bool equal = chunk.at("chunk_index").get<size_t>() == i &&
                         chunk.at("content").get<std::string>() == expected[i].content &&
                         chunk.at("char_start").get<int64_t>() == expected[i].start &&
                         chunk.at("char_end").get<int64_t>() == expected[i].end;
      EXPECT_TRUE(equal) << "document " << id << " chunk " << i << " is " << chunk.dump() << "; fresh chunking: ["
                         << expected[i].start << ", " << expected[i].end << ") " << expected[i].content;
      same = same && equal;
    }
    if (!same) ++differing;
  }
  return differing;
}

int64_t FreshChunkCount(const std::map<int64_t, ScifactDoc>& by_id) {
  int64_t count = 0;
  for (const auto& [id, doc] : by_id) count += static_cast<int64_t>(ChunkText(doc.text, ChunkerOptions{}).size());
  return count;
}

}  // namespace refinery::testing
