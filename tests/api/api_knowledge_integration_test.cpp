// The knowledge routes over a real server: entities from real extraction,
// their sources, conflicts, the counts in /stats, and DELETE recounting
// before it answers.
#include "api_fixture.h"

namespace refinery {
namespace {


constexpr const char* kFirst =
    "White matter integrity was measured with diffusion tensor imaging (DTI) in 40 patients. "
    "Fractional anisotropy fell by 12% (p < 0.01).";
constexpr const char* kSecond =
    "We used diffusion tensor imaging (DTI) and magnetic resonance spectroscopy (MRS) in a cohort study.";
constexpr const char* kThird = "Estrogen receptor (ER) signalling was examined in cultured cells.";
constexpr const char* kFourth = "Stress of the endoplasmic reticulum (ER) was measured in yeast cells.";

class KnowledgeApiTest : public ApiFixture {
 protected:
  json EntityNamed(const std::string& type, const std::string& key) {
    ApiReply list = Call("GET", "/entities?type=" + type + "&q=" + key);
    EXPECT_EQ(list.status, 200) << list.raw;
    for (const json& e : list.body["entities"]) {
      if (e["key"] == key) return e;
    }
    return json();
  }
};

TEST_F(KnowledgeApiTest, EntitiesCarrySourcesAndDeleteRecountsBeforeItAnswers) {
  const int64_t first = Ingest("first", kFirst);
  Ingest("second", kSecond);
  RunPipeline();
  json dti = EntityNamed("acronym", "DTI");
  ASSERT_TRUE(dti.is_object()) << Call("GET", "/entities").raw;
  EXPECT_EQ(dti["source_count"], 2);
  EXPECT_EQ(dti["attributes"]["long"], "diffusion tensor imaging");
  EXPECT_GT(dti["confidence"].get<double>(), 0);
  ApiReply detail = Call("GET", "/entities/" + std::to_string(dti["id"].get<int64_t>()));
  ASSERT_EQ(detail.status, 200) << detail.raw;
  ASSERT_EQ(detail.body["sources"].size(), 2u);
  const json& source = detail.body["sources"][0];
  EXPECT_EQ(source["document_id"], first);
  EXPECT_EQ(source["document_title"], "first");
  EXPECT_NE(source["excerpt"].get<std::string>().find("diffusion tensor imaging (DTI)"), std::string::npos);
  EXPECT_TRUE(source["trust"].is_number());

  ApiReply stats = Call("GET", "/stats");
  EXPECT_GE(stats.body["entities_by_type"]["acronym"].get<int64_t>(), 2);  // DTI, MRS
  EXPECT_EQ(stats.body["total_entities"].get<int64_t>(), [&] {
    int64_t sum = 0;
    for (const auto& [type, count] : stats.body["entities_by_type"].items()) sum += count.get<int64_t>();
    return sum;
  }());

  ASSERT_EQ(Call("DELETE", "/documents/" + std::to_string(first)).status, 200);
  EXPECT_EQ(EntityNamed("acronym", "DTI")["source_count"], 1);  // no waiting: recounted already
  ExpectError(Call("GET", "/entities/999999"), 404, "not_found");
  ExpectError(Call("GET", "/entities/abc"), 400, "invalid_argument");
  ExpectError(Call("GET", "/entities?min_confidence=2"), 400, "invalid_argument");
  ExpectError(Call("GET", "/entities?limit=0"), 400, "invalid_argument");
}

TEST_F(KnowledgeApiTest, AnAcronymExpandedTwoWaysIsAConflictWithBothCandidates) {
  Ingest("third", kThird);
  Ingest("fourth", kFourth);
  RunPipeline();
  ApiReply conflicts = Call("GET", "/conflicts?type=acronym");
  ASSERT_EQ(conflicts.status, 200) << conflicts.raw;
  ASSERT_EQ(conflicts.body["total"], 1) << conflicts.raw;
  const json& c = conflicts.body["conflicts"][0];
  EXPECT_EQ(c["entity_type"], "acronym");
  EXPECT_EQ(c["entity_key"], "ER");
  EXPECT_EQ(c["field"], "long");
  ASSERT_EQ(c["candidates"].size(), 2u);
  EXPECT_FALSE(c["reason"].get<std::string>().empty());
  json er = EntityNamed("acronym", "ER");
  EXPECT_EQ(er["conflict_count"], 1);
  EXPECT_EQ(er["attributes"]["long"], c["resolved_value"]);
  ApiReply detail = Call("GET", "/entities/" + std::to_string(er["id"].get<int64_t>()));
  ASSERT_EQ(detail.body["conflicts"].size(), 1u);
  EXPECT_EQ(Call("GET", "/conflicts?type=doi").body["total"], 0);
  EXPECT_EQ(Call("GET", "/stats").body["total_conflicts"], 1);
}

}  // namespace
}  // namespace refinery
