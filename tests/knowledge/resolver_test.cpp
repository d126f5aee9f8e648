// The resolver: the same fact from several documents, disagreeing sources,
// the 20% rule, child records deduplicated by normalised text.
#include "knowledge/resolver.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace refinery {
namespace {

using nlohmann::json;

class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto profile = ParseProfile(R"toml(
name = "test"
[entities.acronym]
key = "short"
fields = { short = "text", long = "text" }
[entities.sensor]
key = "name"
fields = { name = "text", typical_range = "text", codes = "list", score = "number max", since = "integer min" }
)toml",
                                "test.toml");
    ASSERT_TRUE(profile.ok()) << profile.status().message();
    resolve_ = NewEntityResolver(std::make_shared<const Profile>(std::move(profile).value()));
  }
  static Mention Said(int64_t doc, double trust, json attributes, int64_t chunk = 0) {
    Mention m;
    m.document_id = doc;
    m.chunk_id = chunk == 0 ? doc * 10 : chunk;
    m.trust = trust;
    m.attributes_json = attributes.dump();
    return m;
  }
  EntityResolver resolve_;
};

TEST(EntityConfidence, FollowsThePythonSystemsFormula) {
  EXPECT_NEAR(EntityConfidence(1, 0.5), 0.41, 1e-9);
  EXPECT_NEAR(EntityConfidence(3, 0.5), 0.3 * 0.6 + 0.35, 1e-9);
  EXPECT_NEAR(EntityConfidence(9, 1.0), 1.0, 1e-9);  // capped
  EXPECT_NEAR(EntityConfidence(5, 0.0), 0.3, 1e-9);
}

TEST_F(ResolverTest, TheSameFactFromThreeDocumentsIsOneEntityWithThreeSources) {
  const EntityKey key{"acronym", "DTI"};
  std::vector<Mention> mentions;
  for (int64_t doc : {1, 2, 3}) mentions.push_back(Said(doc, 0.5, {{"short", "DTI"}, {"long", "diffusion tensor imaging"}}));
  mentions.push_back(Said(3, 0.5, {{"short", "DTI"}, {"long", "Diffusion Tensor Imaging"}}));  // same document again
  ResolvedEntity r = resolve_(key, mentions);
  EXPECT_EQ(r.source_count, 3);
  EXPECT_NEAR(r.confidence, EntityConfidence(3, 0.5), 1e-9);
  EXPECT_TRUE(r.conflicts.empty());  // case differs only: the same value
  EXPECT_EQ(json::parse(r.attributes_json)["long"], "diffusion tensor imaging");
}

TEST_F(ResolverTest, DisagreeingSourcesAreAConflictResolvedTowardTheMoreTrustedKeepingTheLoser) {
  const EntityKey key{"acronym", "ER"};
  std::vector<Mention> mentions = {Said(1, 0.4, {{"long", "estrogen receptor"}}),
                                   Said(2, 0.9, {{"long", "endoplasmic reticulum"}}),
                                   Said(3, 0.3, {{"long", "estrogen receptor"}})};
  ResolvedEntity r = resolve_(key, mentions);
  EXPECT_EQ(json::parse(r.attributes_json)["long"], "endoplasmic reticulum");  // 0.9 > 0.4 + 0.3
  ASSERT_EQ(r.conflicts.size(), 1u);
  const EntityConflict& c = r.conflicts[0];
  EXPECT_EQ(c.entity.type, "acronym");
  EXPECT_EQ(c.entity.key, "ER");
  EXPECT_EQ(c.field, "long");
  EXPECT_EQ(c.resolved_value, "endoplasmic reticulum");
  json candidates = json::parse(c.candidates_json);
  ASSERT_EQ(candidates.size(), 2u);
  EXPECT_EQ(candidates[1]["value"], "estrogen receptor");
  EXPECT_EQ(candidates[1]["sources"], 2);
  EXPECT_EQ(candidates[1]["documents"], json::array({1, 3}));
  EXPECT_NEAR(candidates[1]["summed_trust"].get<double>(), 0.7, 1e-9);
  EXPECT_NE(c.reason.find("higher summed trust of its sources (0.90 vs 0.70)"), std::string::npos) << c.reason;
}

TEST_F(ResolverTest, NumbersWithinTwentyPercentAgreeAndBeyondConflict) {
  const EntityKey key{"sensor", "o2 sensor"};
  ResolvedEntity close = resolve_(key, {Said(1, 0.8, {{"typical_range", "0.1-0.9 V"}}),
                                        Said(2, 0.5, {{"typical_range", "0.1-1.0 V"}})});
  EXPECT_TRUE(close.conflicts.empty());
  EXPECT_EQ(json::parse(close.attributes_json)["typical_range"], "0.1-0.9 V");
  ResolvedEntity far = resolve_(key, {Said(1, 0.8, {{"typical_range", "0.1-0.9 V"}}),
                                      Said(2, 0.5, {{"typical_range", "0.1-1.5 V"}})});
  ASSERT_EQ(far.conflicts.size(), 1u);
  EXPECT_EQ(far.conflicts[0].resolved_value, "0.1-0.9 V");
  EXPECT_TRUE(ValuesAgree("14.7", "15.5"));
  EXPECT_FALSE(ValuesAgree("14.7", "19"));
  EXPECT_FALSE(ValuesAgree("bank 1", "bank 2"));
  EXPECT_FALSE(ValuesAgree("2 V", "2 A"));
}

TEST_F(ResolverTest, ListsUniteMaxAndMinTakeTheExtremesAndMissingValuesCastNoVote) {
  const EntityKey key{"sensor", "maf"};
  ResolvedEntity r = resolve_(key, {Said(1, 0.5, {{"codes", {"P0101", "P0102"}}, {"score", 2.5}, {"typical_range", ""}}),
                                    Said(2, 0.5, {{"codes", {"p0102", "P0103"}}, {"score", 4}, {"since", 2009}}),
                                    Said(3, 0.9, {{"name", "MAF"}, {"since", 2011}})});
  json a = json::parse(r.attributes_json);
  EXPECT_EQ(a["codes"], json::array({"P0102", "P0101", "P0103"}));  // best-supported first
  EXPECT_EQ(a["score"], 4);
  EXPECT_EQ(a["since"], 2009);  // min: the smallest, whatever its trust
  EXPECT_FALSE(a.contains("typical_range"));
  EXPECT_EQ(a["name"], "MAF");
  EXPECT_TRUE(r.conflicts.empty());
  EXPECT_EQ(r.source_count, 3);
}

TEST_F(ResolverTest, ParentsBecomeRelationsAndConfidenceWeighsDistinctChunks) {
  Mention a = Said(1, 1.0, json::object(), 5);
  a.parent = {"dtc", "P0420"};
  Mention b = Said(1, 1.0, json::object(), 5);  // the same chunk twice counts once
  Mention c = Said(2, 0.0, json::object(), 7);
  c.parent = {"dtc", "P0420"};
  ResolvedEntity r = resolve_({"cause", "p0420 catalyst"}, {a, b, c});
  EXPECT_EQ(r.parents, (std::vector<EntityKey>{{"dtc", "P0420"}}));
  EXPECT_NEAR(r.confidence, EntityConfidence(2, 0.5), 1e-9);
}

TEST(NormaliseText, FoldsCasePunctuationWhitespaceAndOneLeadingArticle) {
  EXPECT_EQ(NormaliseText("The O2 sensor, bank 1."), "o2 sensor bank 1");
  EXPECT_EQ(NormaliseText("  a   Faulty  catalytic-converter "), "faulty catalytic converter");
  EXPECT_EQ(NormaliseText("An EGR valve"), "egr valve");
  EXPECT_EQ(NormaliseText("the"), "the");  // an article alone stays
  EXPECT_EQ(NormaliseText("Another issue"), "another issue");
  EXPECT_EQ(NormaliseText("Ünïcode stays"), "Ünïcode stays");
}

}  // namespace
}  // namespace refinery
