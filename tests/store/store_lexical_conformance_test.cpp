// Store conformance, part 4: LexicalSearch (full-text search over chunks).
// Every backend in StoreBackends() must pass.
#include <set>

#include "store_backends.h"

namespace refinery {
namespace {

class LexicalConformance : public StoreConformance {
 protected:
  // A document in "embedding" whose chunks have exactly these texts.
  int64_t AddTexts(const std::string& hash, const std::vector<std::string>& texts) {
    const int64_t id = Insert(hash);
    std::vector<Chunk> chunks;
    for (size_t i = 0; i < texts.size(); ++i) {
      Chunk c;
      c.chunk_index = static_cast<int>(i);
      c.content = texts[i];
      c.char_end = static_cast<int64_t>(texts[i].size());
      chunks.push_back(c);
    }
    EXPECT_STORE_OK(store().chunks().Replace(id, chunks, {"chunking", "embedding"}));
    return id;
  }

  std::vector<std::string> Contents(const std::string& query, int64_t limit = 10) {
    auto hits = store().search_index().Lexical(query, limit);
    EXPECT_TRUE(hits.ok()) << query << ": " << hits.status().ToString();
    std::vector<std::string> out;
    if (!hits.ok()) return out;
    for (size_t i = 0; i < hits->size(); ++i) {
      out.push_back((*hits)[i].hit.chunk.content);
      if (i > 0) {
        EXPECT_GE((*hits)[i - 1].score, (*hits)[i].score) << query;
      }
    }
    return out;
  }
};

TEST_P(LexicalConformance, RanksChunksWithMoreOfTheQueryFirst) {
  const int64_t id =
      AddTexts("rank", {"Mitochondria produce energy for the cell.", "Protein folding in the cell nucleus.",
                        "Mitochondria and protein folding: energy of folding.", "Unrelated text about volcanoes."});
  auto hits = store().search_index().Lexical("mitochondria protein folding", 10);
  ASSERT_STORE_OK(hits);
  ASSERT_EQ(hits->size(), 3u);  // any word matches; the volcano chunk has none
  EXPECT_EQ((*hits)[0].hit.chunk.content, "Mitochondria and protein folding: energy of folding.");
  EXPECT_GT((*hits)[0].score, (*hits)[1].score);
  EXPECT_EQ((*hits)[0].hit.chunk.document_id, id);
  EXPECT_EQ((*hits)[0].hit.title, "title rank");
  EXPECT_EQ((*hits)[0].hit.chunk.chunk_index, 2);
  EXPECT_TRUE((*hits)[0].hit.chunk.embedding.empty());
  // Case-folded and stemmed: "PRODUCES" finds "produce", "cells" finds "cell".
  EXPECT_EQ(Contents("PRODUCES"), std::vector<std::string>{"Mitochondria produce energy for the cell."});
  EXPECT_EQ(Contents("cells").size(), 2u);
}

TEST_P(LexicalConformance, LimitIsRespected) {
  std::vector<std::string> texts;
  for (int i = 0; i < 7; ++i) texts.push_back("enzyme kinetics sample " + std::to_string(i));
  AddTexts("limit", texts);
  EXPECT_EQ(Contents("enzyme", 3).size(), 3u);
  EXPECT_EQ(Contents("enzyme", 100).size(), 7u);
  EXPECT_TRUE(Contents("enzyme", 0).empty());
  EXPECT_STORE_CODE(store().search_index().Lexical("enzyme", -1), kInvalidArgument);
}

TEST_P(LexicalConformance, DeletedAndReplacedChunksAreGone) {
  const int64_t gone = AddTexts("gone", {"telomerase activity in stem cells"});
  const int64_t kept = AddTexts("kept", {"telomerase and ageing"});
  ASSERT_STORE_OK(store().documents().Delete(gone));
  auto hits = store().search_index().Lexical("telomerase", 10);
  ASSERT_STORE_OK(hits);
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ(hits->front().hit.chunk.document_id, kept);

  ASSERT_STORE_OK(store().documents().SetState(kept, {"embedding", "chunking"}));
  Chunk replacement;
  replacement.content = "glacier retreat";
  ASSERT_STORE_OK(store().chunks().Replace(kept, {replacement}, {"chunking", "embedding"}));
  EXPECT_TRUE(Contents("telomerase").empty());
  EXPECT_EQ(Contents("glacier"), std::vector<std::string>{"glacier retreat"});
}

TEST_P(LexicalConformance, EmbeddingUpdatesKeepTheTextIndexed) {
  const int64_t id = AddTexts("emb", {"ribosome assembly"});
  auto chunks = store().chunks().Get(id);
  ASSERT_STORE_OK(chunks);
  ASSERT_STORE_OK(store().chunks().SetEmbeddings(id, "test-model", {{(*chunks)[0].id, {1.0f, 0.0f}}}, {"embedding", "complete"}));
  EXPECT_EQ(Contents("ribosome"), std::vector<std::string>{"ribosome assembly"});
}

TEST_P(LexicalConformance, QuerySyntaxIsNeverInterpreted) {
  AddTexts("syntax", {"alpha beta", "gamma delta", "NEAR NOT AND OR words"});
  // Each of these would be FTS5 or tsquery syntax (or a syntax error) if
  // passed through; here they are words and separators.
  const char* queries[] = {"\"alpha",
                           "alpha\"",
                           "alpha AND gamma",
                           "alpha NOT gamma",
                           "-alpha",
                           "alpha*",
                           "alpha:*",
                           "(alpha | gamma) & !beta",
                           "alpha' OR '1'='1",
                           "NEAR(alpha beta)",
                           "alpha:A",
                           "{alpha}",
                           "alpha; DROP TABLE chunks;--",
                           "\\alpha\\",
                           "«alpha» — gamma…",
                           "alpha\tgamma\n"};
  for (const char* q : queries) {
    auto found = Contents(q);
    std::set<std::string> got(found.begin(), found.end());
    EXPECT_TRUE(got.count("alpha beta")) << q;
    EXPECT_FALSE(got.count("NEAR NOT AND OR words") && !std::string(q).starts_with("NEAR")) << q;
  }
  EXPECT_EQ(Contents("alpha NOT gamma").size(), 2u);  // NOT is a stop word, gamma a word
  EXPECT_EQ(Contents("words").size(), 1u);
}

TEST_P(LexicalConformance, PunctuationOrStopWordsOnlyMatchNothing) {
  AddTexts("stop", {"the cat and the hat", "!!! ??? ..."});
  for (const char* q :
       {"", "   ", "!!!", "\"\"", "'", "*", "-", "()", "&|!", ":*", "—…«»", "the and of", "THE AND", "not or"}) {
    EXPECT_TRUE(Contents(q).empty()) << "[" << q << "]";
  }
  EXPECT_EQ(Contents("the cat").size(), 1u);
}

TEST_P(LexicalConformance, EqualScoresRankByChunkId) {
  AddTexts("tie", {"quartz crystal", "quartz crystal", "quartz crystal"});
  auto hits = store().search_index().Lexical("quartz", 10);
  ASSERT_STORE_OK(hits);
  ASSERT_EQ(hits->size(), 3u);
  EXPECT_LT((*hits)[0].hit.chunk.id, (*hits)[1].hit.chunk.id);
  EXPECT_LT((*hits)[1].hit.chunk.id, (*hits)[2].hit.chunk.id);
}

INSTANTIATE_TEST_SUITE_P(Backends, LexicalConformance, ::testing::ValuesIn(StoreBackends()), BackendName);

}  // namespace
}  // namespace refinery
