// The trouble-code routes over a real server under the automotive profile:
// GET /dtc as a bare array with its filters, GET /dtc/{code} with children
// in order, the Python system's /stats counts, and bad input.
#include "api_fixture.h"

namespace refinery {
namespace {

constexpr const char* kReference =
    "P0171 - System Too Lean (Bank 1)\n"
    "The engine computer sees too much oxygen in the exhaust and adds fuel until it runs out of range.\n\n"
    "Possible Causes\n"
    "- Vacuum leak (most common)\n"
    "- Dirty mass air flow sensor\n"
    "- Weak fuel pump (rare)\n\n"
    "Diagnostic Steps\n"
    "1. Read long term fuel trims with a scan tool at idle and at 2500 rpm.\n"
    "2. Test fuel pressure with a fuel pressure gauge; expect 40-60 psi.\n\n"
    "A healthy MAF sensor reads 2-7 g/s at idle. See TSB 10-065-19 for P0171 on the 5.4L.";
constexpr const char* kForum =
    "2013 Ford Escape threw C0035 (wheel speed sensor) last month and now p0171 after the intake job.\n"
    "Possible causes people mentioned:\n"
    "- A vacuum leak.\n"
    "- cracked intake boot\n";

class DtcApiTest : public ApiFixture {
 protected:
  DtcApiTest() : ApiFixture([](Config& c) { c.profile = "automotive"; }) {}
};

TEST_F(DtcApiTest, ListIsABareArrayWithFiltersAndDetailHasOrderedChildren) {
  Ingest("P0171 reference", kReference);
  Ingest("Escape forum", kForum);
  RunPipeline();

  ApiReply list = Call("GET", "/dtc");
  ASSERT_EQ(list.status, 200) << list.raw;
  ASSERT_TRUE(list.body.is_array()) << list.raw;
  ASSERT_EQ(list.body.size(), 2u) << list.raw;
  EXPECT_EQ(list.body[0]["code"], "P0171");  // two sources: the higher confidence
  EXPECT_EQ(list.body[0]["source_count"], 2);
  EXPECT_EQ(list.body[0]["category"], "powertrain");
  EXPECT_EQ(list.body[0]["description"], "System Too Lean (Bank 1)");
  for (const char* field : {"id", "code", "description", "category", "severity", "confidence_score", "source_count"}) {
    EXPECT_TRUE(list.body[1].contains(field)) << field;
  }
  EXPECT_EQ(list.body[1]["code"], "C0035");
  EXPECT_EQ(list.body[1]["category"], "chassis");

  ApiReply chassis = Call("GET", "/dtc?category=chassis");
  ASSERT_EQ(chassis.body.size(), 1u) << chassis.raw;
  EXPECT_EQ(chassis.body[0]["code"], "C0035");
  EXPECT_TRUE(Call("GET", "/dtc?category=network").body.empty());
  EXPECT_EQ(Call("GET", "/dtc?limit=1&offset=1").body, json::array({list.body[1]}));
  const double top = list.body[0]["confidence_score"].get<double>();
  EXPECT_EQ(Call("GET", "/dtc?min_confidence=" + std::to_string(top - 0.0001)).body.size(), 1u);

  ApiReply detail = Call("GET", "/dtc/p0171");  // any case
  ASSERT_EQ(detail.status, 200) << detail.raw;
  EXPECT_EQ(detail.body["code"], "P0171");
  std::map<std::string, std::pair<std::string, int64_t>> causes;  // description -> likelihood, sources
  for (const json& c : detail.body["causes"]) {
    causes[c["description"]] = {c["likelihood"], c["source_count"]};
    EXPECT_GT(c["confidence_score"].get<double>(), 0);
  }
  EXPECT_EQ(causes, (std::map<std::string, std::pair<std::string, int64_t>>{
                        {"Vacuum leak", {"high", 2}},  // "A vacuum leak." from the forum is the same cause
                        {"Dirty mass air flow sensor", {"medium", 1}},
                        {"Weak fuel pump", {"low", 1}},
                        {"cracked intake boot", {"medium", 1}}}))
      << detail.raw;
  EXPECT_EQ(detail.body["causes"][0]["likelihood"], "high");  // by likelihood
  ASSERT_EQ(detail.body["diagnostic_steps"].size(), 2u) << detail.raw;
  EXPECT_EQ(detail.body["diagnostic_steps"][0]["step_order"], 1);
  EXPECT_EQ(detail.body["diagnostic_steps"][0]["tools_required"], json::array({"scan tool"}));
  EXPECT_EQ(detail.body["diagnostic_steps"][1]["expected_values"], "40-60 psi");
  std::map<std::string, std::string> sensors;  // name -> range and unit
  for (const json& sensor : detail.body["sensors"]) {
    sensors[sensor["name"]] = sensor["typical_range"].is_string()
                                  ? sensor["typical_range"].get<std::string>() + " " + sensor["unit"].get<std::string>()
                                  : "";
  }
  // The forum's "(wheel speed sensor)" shares its sentence with both codes.
  EXPECT_EQ(sensors, (std::map<std::string, std::string>{
                         {"MAF sensor", "2-7 g/s"}, {"mass air flow sensor", ""}, {"wheel speed sensor", ""}}))
      << detail.raw;
  ASSERT_EQ(detail.body["tsb_references"].size(), 1u) << detail.raw;
  EXPECT_EQ(detail.body["tsb_references"][0]["tsb_number"], "10-065-19");
  EXPECT_EQ(detail.body["sources"].size(), 2u);

  ApiReply stats = Call("GET", "/stats");
  EXPECT_EQ(stats.body["total_dtc_codes"], 2);
  EXPECT_EQ(stats.body["total_causes"], 4);
  EXPECT_EQ(stats.body["total_diagnostic_steps"], 2);

  ExpectError(Call("GET", "/dtc/P9999"), 404, "not_found");
  ExpectError(Call("GET", "/dtc/hello"), 404, "not_found");
  ExpectError(Call("GET", "/dtc?category=engine"), 400, "invalid_argument");
  ExpectError(Call("GET", "/dtc?min_confidence=-1"), 400, "invalid_argument");
  ExpectError(Call("GET", "/dtc?limit=5000"), 400, "invalid_argument");
}

}  // namespace
}  // namespace refinery
