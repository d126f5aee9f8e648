// POST /search modes (hybrid, vector, lexical) over real HTTP on real
// embedded backends; the pipeline runs in-process to chunk and embed.
#include <gtest/gtest.h>

#include "api_fixture.h"

namespace refinery {
namespace {

class SearchModesTest : public ApiFixture {
 protected:
  ApiReply Search(const json& mode, const std::string& query = "telomerase enzyme") {
    json body = {{"query", query}, {"limit", 5}};
    if (!mode.is_null()) body["mode"] = mode;
    return Post("/search", body);
  }
};

TEST_F(SearchModesTest, EachModeReportsItsScores) {
  int64_t telo = Ingest("Telomerase", "Telomerase is the enzyme that extends telomeres in stem cells.");
  Ingest("Markets", "The stock market fell sharply on fears about interest rates.");
  Ingest("Volcanoes", "Volcanoes erupt molten lava, ash and volcanic gases.");
  RunPipeline();

  for (const json& mode : {json("lexical"), json(nullptr)}) {  // lexical is the default
    ApiReply lexical = Search(mode);
    ASSERT_EQ(lexical.status, 200) << lexical.raw;
    EXPECT_EQ(lexical.body["mode"], "lexical");
    ASSERT_EQ(lexical.body["results"].size(), 1u);  // only one chunk has either word
    const json& hit = lexical.body["results"][0];
    EXPECT_EQ(hit["document_id"], telo);
    EXPECT_TRUE(hit["similarity"].is_null());
    EXPECT_EQ(hit["score"], hit["lexical_score"]);
  }

  ApiReply vector = Search("vector");
  ASSERT_EQ(vector.status, 200) << vector.raw;
  EXPECT_EQ(vector.body["results"].size(), 3u);  // every embedded chunk has a similarity
  EXPECT_EQ(vector.body["results"][0]["document_id"], telo);
  EXPECT_TRUE(vector.body["results"][0]["lexical_score"].is_null());

  ApiReply hybrid = Search("hybrid");
  ASSERT_EQ(hybrid.status, 200) << hybrid.raw;
  EXPECT_EQ(hybrid.body["mode"], "hybrid");
  ASSERT_EQ(hybrid.body["results"].size(), 3u);
  const json& top = hybrid.body["results"][0];
  EXPECT_EQ(top["document_id"], telo);
  EXPECT_TRUE(top["similarity"].is_number());
  EXPECT_TRUE(top["lexical_score"].is_number());
  EXPECT_DOUBLE_EQ(top["score"].get<double>(), 1.0 / 11 + 5.0 / 11);  // first in both rankings
  EXPECT_TRUE(hybrid.body["results"][1]["lexical_score"].is_null());
}

// A long title is not copied whole into every hit (the probe got a 105 MB
// answer to a 45-byte query from a 1 MB title): at most a 512-byte excerpt.
TEST_F(SearchModesTest, AHitCarriesABoundedExcerptOfALongTitle) {
  std::string title;
  while (title.size() < 1000) title += "Telomerase \u00e9tude ";  // two-byte characters, so the cut must respect them
  Ingest(title, "Telomerase is the enzyme that extends telomeres in stem cells.");
  RunPipeline();
  ApiReply reply = Search("lexical");
  ASSERT_EQ(reply.status, 200) << reply.raw;
  ASSERT_EQ(reply.body["results"].size(), 1u);
  const std::string hit_title = reply.body["results"][0]["title"];
  EXPECT_LE(hit_title.size(), 512u + 3);
  EXPECT_EQ(hit_title.substr(0, 40), title.substr(0, 40));
  EXPECT_TRUE(hit_title.ends_with("\u2026"));
}

TEST_F(SearchModesTest, QueryWithoutWordsIsEmptyNotAnError) {
  Ingest("Telomerase", "Telomerase extends telomeres.");
  RunPipeline();
  for (const char* mode : {"hybrid", "vector", "lexical"}) {
    for (const char* query : {"\"", "NOT AND OR", "* : & | ! ( )", "the of"}) {
      ApiReply reply = Search(mode, query);
      ASSERT_EQ(reply.status, 200) << mode << " " << query << ": " << reply.raw;
      EXPECT_TRUE(reply.body["results"].is_array());
      if (std::string(mode) == "lexical") {
        EXPECT_TRUE(reply.body["results"].empty()) << query;
      }
    }
  }
}

TEST_F(SearchModesTest, BadModeIs400Json) {
  for (const json& mode : {json("bm25"), json("Hybrid"), json(""), json(3), json(true), json::array({"lexical"})}) {
    ApiReply reply = Search(mode);
    EXPECT_EQ(reply.status, 400) << mode << ": " << reply.raw;
    ASSERT_TRUE(reply.body.is_object() && reply.body.contains("error")) << reply.raw;
    EXPECT_EQ(reply.body["error"]["code"], "invalid_argument");
    EXPECT_NE(reply.body["error"]["message"].get<std::string>().find("mode"), std::string::npos) << reply.raw;
  }
}

}  // namespace
}  // namespace refinery
