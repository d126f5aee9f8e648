// lexical::Terms and the engine renderings: what user text becomes.
#include "store/lexical_query.h"

#include <gtest/gtest.h>

namespace refinery::lexical {
namespace {

using Words = std::vector<std::string>;

TEST(LexicalTerms, LowerCasesSplitsOnPunctuationAndDropsStopWordsAndDuplicates) {
  EXPECT_EQ(Terms("The Cat's hat, and THE cat!"), (Words{"cat", "hat"}));  // "s" is a stop word
  EXPECT_EQ(Terms("p53-mediated apoptosis (in vivo)"), (Words{"p53", "mediated", "apoptosis", "vivo"}));
}

TEST(LexicalTerms, OperatorsAndQuotesAreSeparators) {
  EXPECT_EQ(Terms("\"a\" NEAR(b*) -c:* 'd' & e | !f \\g"), (Words{"near", "b", "c", "d", "e", "f", "g"}));
  EXPECT_TRUE(Terms("").empty());
  EXPECT_TRUE(Terms(" !?*\"'()&|:-").empty());
  EXPECT_TRUE(Terms("the AND or NOT of").empty());
}

TEST(LexicalTerms, UnicodeLettersStayUnicodePunctuationSplits) {
  EXPECT_EQ(Terms("naïve café"), (Words{"naïve", "café"}));
  EXPECT_EQ(Terms("«Grüße»—“quoted”…"), (Words{"grüße", "quoted"}));  // non-ASCII case left to the engine
  EXPECT_EQ(Terms("bad\xff\xfe"
                  "bytes\xc3"),
            (Words{"bad", "bytes"}));
}

TEST(LexicalTerms, KeepsAtMostTheFirstMaxTerms) {
  std::string text;
  for (size_t i = 0; i < kMaxTerms + 10; ++i) text += "w" + std::to_string(i) + " ";
  Words terms = Terms(text);
  ASSERT_EQ(terms.size(), kMaxTerms);
  EXPECT_EQ(terms.back(), "w" + std::to_string(kMaxTerms - 1));
}

TEST(LexicalRender, QuotesEveryTerm) {
  EXPECT_EQ(Fts5OrQuery({"a", "b"}), "\"a\" OR \"b\"");
  EXPECT_EQ(Fts5OrQuery({}), "");
}

}  // namespace
}  // namespace refinery::lexical
