// The automotive profile's rule extractor (dtc_codes) on passages written as
// DTC reference pages, owners' forum posts and service bulletins are: codes,
// what is not a code, causes, diagnostic steps, sensors, TSBs and vehicles.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "knowledge/extractor.h"

namespace refinery {
namespace {

using Entities = std::vector<ExtractedEntity>;
using Strings = std::vector<std::string>;
using Rows = std::vector<Strings>;

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Without surrounding spaces and trailing punctuation, which the spec lets
// the extractor trim from a description.
std::string Core(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
  while (!s.empty() && !std::isalnum(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// One field as text: "key"; "parent" (type:key); "~description" (its Core);
// else the attribute: a string, an integer's digits, a list sorted and joined
// by ", " (a lone string is a list of one); "" when absent, null or empty.
std::string Field(const ExtractedEntity& e, const std::string& field) {
  if (field == "key") return e.key;
  if (field == "parent") return e.parent_type + ":" + e.parent_key;
  if (field == "~description") return Core(Field(e, "description"));
  if (!e.attributes.contains(field)) return "";
  const nlohmann::json& v = e.attributes.at(field);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  if (!v.is_array()) return v.is_null() ? "" : v.dump();
  Strings items;
  for (const nlohmann::json& item : v) items.push_back(item.is_string() ? item.get<std::string>() : item.dump());
  std::sort(items.begin(), items.end());
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// The named fields of each entity, one row per entity in text order.
Rows Project(const Entities& entities, const Strings& fields) {
  Rows rows;
  for (const ExtractedEntity& e : entities) {
    Strings row;
    for (const std::string& field : fields) row.push_back(Field(e, field));
    rows.push_back(row);
  }
  return rows;
}

class DtcExtractorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto profile = LoadProfile("automotive", "");
    ASSERT_TRUE(profile.ok()) << profile.status().message();
    extractor_ = NewRuleExtractor(std::make_shared<const Profile>(std::move(profile).value()));
  }
  // Every entity, each checked to lie inside the text; a dtc's span is the
  // code as written.
  Entities All(std::string_view text) {
    auto result = extractor_->Extract(text);
    EXPECT_TRUE(result.ok()) << result.status().message();
    if (!result.ok()) return {};
    Entities entities = std::move(result).value();
    for (const ExtractedEntity& e : entities) {
      EXPECT_LE(e.start, e.end) << e.type << " " << e.key;
      EXPECT_LE(e.end, text.size()) << e.type << " " << e.key;
      if (e.type == "dtc" && e.start <= e.end && e.end <= text.size()) {
        EXPECT_EQ(Upper(text.substr(e.start, e.end - e.start)), e.key);
      }
    }
    return entities;
  }
  Entities Of(std::string_view text, const std::string& type) {
    Entities all = All(text), out;
    for (ExtractedEntity& e : all) {
      if (e.type == type) out.push_back(std::move(e));
    }
    return out;
  }
  Strings Keys(std::string_view text, const std::string& type) {
    Strings keys;
    for (const Strings& row : Project(Of(text, type), {"key"})) keys.push_back(row[0]);
    return keys;
  }
  std::unique_ptr<Extractor> extractor_;
};

TEST_F(DtcExtractorTest, DescriptionAfterADashOnAReferencePage) {
  const Entities dtcs =
      Of("P0171 - System Too Lean (Bank 1)\n\nWhat does that mean?\nThis diagnostic trouble code (DTC) is a generic "
         "powertrain code, which means it applies to OBD-II equipped vehicles. The P0171 code means the oxygen sensor "
         "in bank 1 detected a lean condition (too much oxygen in the exhaust).\n",
         "dtc");
  ASSERT_FALSE(dtcs.empty());
  for (const ExtractedEntity& e : dtcs) EXPECT_EQ(e.key, "P0171");
  EXPECT_EQ(dtcs[0].start, 0u);
  EXPECT_EQ(Project({dtcs[0]}, {"code", "~description", "category", "standard", "severity"}),
            (Rows{{"P0171", Core("System Too Lean (Bank 1)"), "powertrain", "generic", ""}}));
}

TEST_F(DtcExtractorTest, DescriptionAfterCodeColonAndInParentheses) {
  EXPECT_EQ(Project(Of("Code P0420: Catalyst System Efficiency Below Threshold (Bank 1)\n"
                       "The catalytic converter on bank 1 is not storing oxygen as well as it should.\n",
                       "dtc"),
                    {"key", "~description"}),
            (Rows{{"P0420", Core("Catalyst System Efficiency Below Threshold (Bank 1)")}}));
  EXPECT_EQ(
      Project(Of("The manual lists P0420 (Catalyst System Efficiency Below Threshold) as an emissions fault.", "dtc"),
              {"key", "~description"}),
      (Rows{{"P0420", "Catalyst System Efficiency Below Threshold"}}));
}

TEST_F(DtcExtractorTest, TitleCaseRunWithoutSeparatorIsTheDescription) {
  const Entities page =
      Of("P0300 Random/Multiple Cylinder Misfire Detected\n\n"
         "A P0300 means the PCM sees misfires on more than one cylinder, or it cannot tell which.\n",
         "dtc");
  ASSERT_FALSE(page.empty());
  EXPECT_EQ(Project({page[0]}, {"key", "~description"}),
            (Rows{{"P0300", "Random/Multiple Cylinder Misfire Detected"}}));
  EXPECT_EQ(
      Project(Of("my scanner showed P0300 Random/Multiple Cylinder Misfire Detected right after new plugs", "dtc"),
              {"key", "~description"}),
      (Rows{{"P0300", "Random/Multiple Cylinder Misfire Detected"}}));
}

TEST_F(DtcExtractorTest, MarkdownTableRowsGiveDescriptionAndMappedSeverity) {
  const std::string table =
      "| Code | Description | Severity |\n"
      "|------|-------------|----------|\n"
      "| P0171 | System Too Lean (Bank 1) | Moderate |\n"
      "| P0300 | Random/Multiple Cylinder Misfire Detected | High |\n"
      "| P0420 | Catalyst System Efficiency Below Threshold (Bank 1) | Medium |\n"
      "| P0455 | Evaporative Emission System Leak Detected (large leak) | Low |\n"
      "| P0700 | Transmission Control System Malfunction | Informational |\n";
  EXPECT_EQ(Project(Of(table, "dtc"), {"key", "~description", "severity"}),
            (Rows{{"P0171", Core("System Too Lean (Bank 1)"), "moderate"},
                  {"P0300", "Random/Multiple Cylinder Misfire Detected", "critical"},
                  {"P0420", Core("Catalyst System Efficiency Below Threshold (Bank 1)"), "moderate"},
                  {"P0455", Core("Evaporative Emission System Leak Detected (large leak)"), "minor"},
                  {"P0700", "Transmission Control System Malfunction", "informational"}}));
  EXPECT_EQ(
      Project(Of("For P0455 the severity is low since the leak only affects emissions.", "dtc"), {"key", "severity"}),
      (Rows{{"P0455", "minor"}}));
}

TEST_F(DtcExtractorTest, BulletedListOfRelatedCodes) {
  EXPECT_EQ(
      Project(Of("Related codes:\n"
                 "- P0172 - System Too Rich (Bank 1)\n"
                 "- P0174 - System Too Lean (Bank 2)\n"
                 "* P0101 Mass or Volume Air Flow Circuit Range/Performance\n"
                 "\xE2\x80\xA2 P0128 - Coolant Thermostat (Coolant Temperature Below Thermostat Regulating "
                 "Temperature)\n",
                 "dtc"),
              {"key", "~description"}),
      (Rows{{"P0172", Core("System Too Rich (Bank 1)")},
            {"P0174", Core("System Too Lean (Bank 2)")},
            {"P0101", "Mass or Volume Air Flow Circuit Range/Performance"},
            {"P0128", Core("Coolant Thermostat (Coolant Temperature Below Thermostat Regulating Temperature)")}}));
}

TEST_F(DtcExtractorTest, SeveralCodesInOneSentenceAreOneMentionEach) {
  EXPECT_EQ(Project(Of("Codes P0171 and P0174 together usually point to a vacuum leak or a weak fuel pump, since "
                       "both banks are lean.",
                       "dtc"),
                    {"key", "description"}),
            (Rows{{"P0171", ""}, {"P0174", ""}}));
  EXPECT_EQ(Keys("my truck keeps throwing P0171/P0174 after the intake gasket job", "dtc"),
            (Strings{"P0171", "P0174"}));
  EXPECT_EQ(Keys("Misfire codes P0300-P0306 are covered in a separate article.", "dtc"), (Strings{"P0300", "P0306"}));
}

TEST_F(DtcExtractorTest, LowerCaseCodeInAForumPost) {
  const std::string post =
      "so my 2007 camry (2.4, 180k miles) threw a cel last week. autozone read it as p0171. i already swapped "
      "the pcv valve (part # 12204-0H010) and the intake boot 17881-0H040, and cleaned the maf. found "
      "https://www.obd-codes.com/p0171 and www.autozone.com/diy/p0171 but no luck. any ideas??";
  const Entities dtcs = Of(post, "dtc");
  ASSERT_EQ(dtcs.size(), 1u);
  EXPECT_EQ(post.substr(dtcs[0].start, dtcs[0].end - dtcs[0].start), "p0171");
  EXPECT_EQ(Project(dtcs, {"key", "code", "category"}), (Rows{{"P0171", "P0171", "powertrain"}}));
}

TEST_F(DtcExtractorTest, CategoryAndStandardFromTheCode) {
  EXPECT_EQ(Project(Of("U0100 - Lost Communication With ECM/PCM \"A\"\n"
                       "C0035 - Left Front Wheel Speed Sensor Circuit\n"
                       "B0001 - Driver Frontal Stage 1 Deployment Control\n"
                       "P0A80 - Replace Hybrid Battery Pack\n"
                       "P1456 - EVAP Control System Leakage (Fuel Tank System)\n"
                       "C1201 - Engine Control System Malfunction\n"
                       "P2096 - Post Catalyst Fuel Trim System Too Lean (Bank 1)\n",
                       "dtc"),
                    {"key", "category", "standard", "~description"}),
            (Rows{{"U0100", "network", "generic", Core("Lost Communication With ECM/PCM \"A\"")},
                  {"C0035", "chassis", "generic", "Left Front Wheel Speed Sensor Circuit"},
                  {"B0001", "body", "generic", "Driver Frontal Stage 1 Deployment Control"},
                  {"P0A80", "powertrain", "generic", "Replace Hybrid Battery Pack"},
                  {"P1456", "powertrain", "manufacturer", Core("EVAP Control System Leakage (Fuel Tank System)")},
                  {"C1201", "chassis", "manufacturer", "Engine Control System Malfunction"},
                  {"P2096", "powertrain", "generic", Core("Post Catalyst Fuel Trim System Too Lean (Bank 1)")}}));
}

TEST_F(DtcExtractorTest, PartNumbersAreNotCodes) {
  EXPECT_EQ(Keys("Replace the converter with part number 12345-P0420-A; the kit includes gasket P0420-A1 and two "
                 "nuts (94050-P0420).",
                 "dtc"),
            Strings{});
}

TEST_F(DtcExtractorTest, CodesInsideUrlsAreNotMentions) {
  EXPECT_EQ(Keys("Full write-up: https://www.obd-codes.com/p0420 or see our page at /codes/p0420.html, "
                 "www.obd-codes.com/trouble_codes/P0420 and "
                 "https://www.autozone.com/diy/check-engine-light?code=P0420&make=toyota for more.",
                 "dtc"),
            Strings{});
}

TEST_F(DtcExtractorTest, CodesGluedIntoWordsAreNotMentions) {
  EXPECT_EQ(
      Keys("The Walker catalog lists XP0420 and P04201 as converters; see invoice #P0420 and scan_P0420.pdf.", "dtc"),
      Strings{});
}

TEST_F(DtcExtractorTest, InvalidCodesAreRejected) {
  EXPECT_EQ(Keys("The cheap reader showed P0G20, which is not a real code; nor are X0420 and P042.", "dtc"), Strings{});
}

TEST_F(DtcExtractorTest, ProseAfterTheColonIsNotADescription) {
  EXPECT_EQ(Project(Of("the dealer said Code P0420: the converter is not doing its job anymore, $1400", "dtc"),
                    {"key", "description"}),
            (Rows{{"P0420", ""}}));
  // At the start of its line but longer than 8 words.
  EXPECT_EQ(Project(Of("Code P0420: the converter is not doing its job of cleaning up the exhaust, so you will fail "
                       "emissions until it is replaced.\n",
                       "dtc"),
                    {"key", "description"}),
            (Rows{{"P0420", ""}}));
}

TEST_F(DtcExtractorTest, CausesUnderAPossibleCausesHeading) {
  const Entities causes =
      Of("P0171 - System Too Lean (Bank 1)\n\n"
         "Symptoms\n"
         "- Check engine light (MIL) on\n"
         "- Rough idle or hesitation on acceleration\n\n"
         "Possible Causes\n"
         "- A vacuum leak (most common), such as a cracked PCV hose\n"
         "- Dirty or faulty Mass Air Flow (MAF) sensor\n\n"
         "- Clogged fuel filter or weak fuel pump\n"
         "- Exhaust leak before the upstream O2 sensor (rare)\n\n"
         "Start with the cheapest checks first.\n",
         "cause");
  for (const ExtractedEntity& e : causes) EXPECT_EQ(Field(e, "dtc_code") + " " + Field(e, "parent"), "P0171 dtc:P0171");
  EXPECT_EQ(
      Project(causes, {"key", "likelihood", "description"}),
      (Rows{{"P0171:vacuum leak most common such as a cracked pcv hose", "high",
             "A vacuum leak (most common), such as a cracked PCV hose"},
            {"P0171:dirty or faulty mass air flow maf sensor", "medium", "Dirty or faulty Mass Air Flow (MAF) sensor"},
            {"P0171:clogged fuel filter or weak fuel pump", "medium", "Clogged fuel filter or weak fuel pump"},
            // A closing remark that only says how likely is dropped from the
            // text (so "X (rare)" and "X" are one cause); it sets the likelihood.
            {"P0171:exhaust leak before the upstream o2 sensor", "low", "Exhaust leak before the upstream O2 sensor"}}));
}

TEST_F(DtcExtractorTest, CodeInTheCausesHeadingWinsOverAnEarlierCode) {
  EXPECT_EQ(
      Project(Of("If only bank 2 is lean you will see P0174 instead.\n\n"
                 "### What Causes Code P0171?\n"
                 "* Vacuum leaks are by far the most common culprit\n"
                 "* A stuck-open EVAP purge valve.\n"
                 "* Low fuel pressure from a failing pump or, occasionally, a pinched fuel line\n",
                 "cause"),
              {"key", "description", "likelihood", "parent"}),
      (Rows{{"P0171:vacuum leaks are by far the most common culprit", "Vacuum leaks are by far the most common culprit",
             "high", "dtc:P0171"},
            {"P0171:stuck open evap purge valve", "A stuck-open EVAP purge valve", "medium", "dtc:P0171"},
            {"P0171:low fuel pressure from a failing pump or occasionally a pinched fuel line",
             "Low fuel pressure from a failing pump or, occasionally, a pinched fuel line", "low", "dtc:P0171"}}));
}

TEST_F(DtcExtractorTest, CausesWithNoCodeInScopeGiveNothing) {
  EXPECT_EQ(Keys("Common causes of a lean condition:\n"
                 "- A cracked intake boot after the MAF\n"
                 "- Leaking injector O-rings\n"
                 "- A weak fuel pump, usually on high-mileage trucks\n",
                 "cause"),
            Strings{});
  // A code after the list is not in scope for it.
  EXPECT_EQ(Keys("Lean running - common causes:\n"
                 "- Vacuum leak at the PCV hose\n"
                 "- Dirty MAF\n\n"
                 "If the light comes back it will usually be P0171 or P0174.\n",
                 "cause"),
            Strings{});
}

TEST_F(DtcExtractorTest, NumberedDiagnosticStepsWithToolsAndExpectedValues) {
  const Entities steps =
      Of("P0171 - System Too Lean (Bank 1)\n\n"
         "Diagnostic Steps\n"
         "1. Connect a scan tool and look at short and long term fuel trims at idle and at 2500 rpm.\n"
         "2. Spray carb cleaner around the intake or use a smoke machine to find vacuum leaks.\n"
         "3. Back probe the upstream O2 sensor with a multimeter; it should switch between 0.1-0.9 V.\n"
         "4. Check fuel pressure with a fuel pressure gauge; most port injected engines want 40-60 psi at idle.\n",
         "diagnostic_step");
  for (const ExtractedEntity& e : steps) EXPECT_EQ(Field(e, "dtc_code") + " " + Field(e, "parent"), "P0171 dtc:P0171");
  EXPECT_EQ(
      Project(steps, {"key", "step_order"}),
      (Rows{{"P0171:connect a scan tool and look at short and long term fuel trims at idle and at 2500 rpm", "1"},
            {"P0171:spray carb cleaner around the intake or use a smoke machine to find vacuum leaks", "2"},
            {"P0171:back probe the upstream o2 sensor with a multimeter it should switch between 0 1 0 9 v", "3"},
            {"P0171:check fuel pressure with a fuel pressure gauge most port injected engines want 40 60 psi at idle",
             "4"}}));
  // The one quantity of each item.
  EXPECT_EQ(Project(steps, {"tools_required", "expected_values"}), (Rows{{"scan tool", "2500 rpm"},
                                                                         {"smoke machine", ""},
                                                                         {"back probe, multimeter", "0.1-0.9 V"},
                                                                         {"fuel pressure gauge", "40-60 psi"}}));
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(Field(steps[2], "description"),
            "Back probe the upstream O2 sensor with a multimeter; it should switch between 0.1-0.9 V");
}

TEST_F(DtcExtractorTest, BulletedHowToDiagnoseStepsAreOrderedByPosition) {
  EXPECT_EQ(Project(Of("Code P0420: Catalyst System Efficiency Below Threshold (Bank 1)\n\n"
                       "How to diagnose a P0420\n"
                       "- Check for exhaust leaks ahead of the downstream O2 sensor\n"
                       "- Compare upstream and downstream O2 sensor readings with an OBD-II scanner\n"
                       "- Measure converter inlet and outlet temperature with an infrared thermometer\n",
                       "diagnostic_step"),
                    {"key", "step_order", "tools_required", "parent"}),
            (Rows{{"P0420:check for exhaust leaks ahead of the downstream o2 sensor", "1", "", "dtc:P0420"},
                  {"P0420:compare upstream and downstream o2 sensor readings with an obd ii scanner", "2",
                   "OBD-II scanner", "dtc:P0420"},
                  {"P0420:measure converter inlet and outlet temperature with an infrared thermometer", "3",
                   "infrared thermometer", "dtc:P0420"}}));
}

TEST_F(DtcExtractorTest, OxygenSensorWithRangeAndTheCodeOfItsSentence) {
  const Entities sensors =
      Of("On a P0171 the upstream O2 sensor (Bank 1 Sensor 1) should switch from 0.1 to 0.9 volts several times a "
         "second; a lean engine holds it low.",
         "sensor");
  EXPECT_EQ(Project(sensors, {"key", "name", "sensor_type", "related_dtc_codes"}),
            (Rows{{"o2 sensor", "O2 sensor", "oxygen", "P0171"}}));
  ASSERT_EQ(sensors.size(), 1u);
  // "N to N volts": the spec does not say how the range and unit are written back.
  const std::string range = Field(sensors[0], "typical_range"), unit = Field(sensors[0], "unit");
  EXPECT_TRUE(range.find("0.1") != std::string::npos && range.find("0.9") != std::string::npos) << range;
  EXPECT_TRUE(unit == "V" || unit == "volts") << unit;
}

TEST_F(DtcExtractorTest, MassAirFlowSensorTakesTheCodeInScope) {
  EXPECT_EQ(Project(Of("P0101 - Mass or Volume Air Flow Circuit Range/Performance\n\n"
                       "A good Mass Air Flow (MAF) Sensor should read 2-7 g/s at a warm idle.\n",
                       "sensor"),
                    {"key", "name", "sensor_type", "typical_range", "unit", "related_dtc_codes"}),
            (Rows{{"mass air flow sensor", "Mass Air Flow (MAF) Sensor", "flow", "2-7", "g/s", "P0101"}}));
}

TEST_F(DtcExtractorTest, TheSensorAndSensorPositionsAreNotSensors) {
  EXPECT_EQ(Keys("If the sensor is slow to respond, replace it with a new sensor.", "sensor"), Strings{});
  EXPECT_EQ(Keys("Bank 2 Sensor 1 reads 0.45 V constantly.", "sensor"), Strings{});
}

TEST_F(DtcExtractorTest, ServiceBulletinsRelatedToCodesInTheirSentence) {
  const Entities toyota =
      Of("Toyota TSB EG-011-04 covers P0420 and P0430 on some Camry models with the 2.4L engine.", "tsb");
  Strings parents;
  for (const ExtractedEntity& t : toyota) {
    EXPECT_EQ(Project({t}, {"key", "tsb_number", "related_dtc_codes"}),
              (Rows{{"EG-011-04", "EG-011-04", "P0420, P0430"}}));
    EXPECT_NE(Field(t, "summary").find("P0420"), std::string::npos);
    parents.push_back(Field(t, "parent"));
  }
  // "parent each of them": every related code is a parent of a mention.
  std::sort(parents.begin(), parents.end());
  parents.erase(std::unique(parents.begin(), parents.end()), parents.end());
  EXPECT_EQ(parents, (Strings{"dtc:P0420", "dtc:P0430"}));

  const Entities ford =
      Of("Ford issued TSB 10-065-19 \"Lean Condition At Idle\" for P0171 and P0174 on the 5.4L 3V.", "tsb");
  ASSERT_FALSE(ford.empty());
  EXPECT_EQ(Project({ford[0]}, {"key", "title", "related_dtc_codes"}),
            (Rows{{"10-065-19", "Lean Condition At Idle", "P0171, P0174"}}));

  EXPECT_EQ(Project(Of("Nissan Technical Service Bulletin No. NTB15-011 addresses P0171 on the 3.5L VQ engine.", "tsb"),
                    {"key", "related_dtc_codes", "parent"}),
            (Rows{{"NTB15-011", "P0171", "dtc:P0171"}}));
  EXPECT_EQ(Keys("Always check for open TSBs before replacing the converter.", "tsb"), Strings{});
}

TEST_F(DtcExtractorTest, VehiclesWithYearRangesAndEngines) {
  const Entities civic =
      Of("Seeing this on a lot of 2012-2015 Honda Civic owners' cars with P0420 around 100k miles.", "vehicle");
  EXPECT_EQ(Project(civic, {"key", "make", "model", "year_start", "year_end"}),
            (Rows{{"honda civic", "Honda", "Civic", "2012", "2015"}}));
  ASSERT_EQ(civic.size(), 1u);
  EXPECT_NE(Field(civic[0], "related_dtc_codes").find("P0420"), std::string::npos);

  // One mention per related code (each a relation to that DTC), same span.
  const Entities ford = Of("My 2010 Ford F-150 with the 5.4L V8 sets P0171 and P0174 every spring.", "vehicle");
  EXPECT_EQ(Project(ford, {"key", "make", "model", "year_start", "engine", "parent"}),
            (Rows{{"ford f-150", "Ford", "F-150", "2010", "5.4L V8", "dtc:P0171"},
                  {"ford f-150", "Ford", "F-150", "2010", "5.4L V8", "dtc:P0174"}}));
  ASSERT_EQ(ford.size(), 2u);
  EXPECT_EQ(ford[0].start, ford[1].start);
  const std::string year_end = Field(ford[0], "year_end");  // one year: absent or the same
  EXPECT_TRUE(year_end.empty() || year_end == "2010") << year_end;

  EXPECT_EQ(Project(Of("Same thing on my wife's 2007\xE2\x80\x93"
                       "09 Toyota Camry 2.4L at 140k.",
                       "vehicle"),
                    {"key", "year_start", "year_end", "engine"}),
            (Rows{{"toyota camry", "2007", "2009", "2.4L"}}));
}

TEST_F(DtcExtractorTest, SpansCoverTheCodeAsWrittenAndStayInsideTheText) {
  const std::string text =
      "| P0455 | Evaporative Emission System Leak Detected | Low |\n"
      "forum: got p0171/P0174 and (P0420), plus P0300-P0304 last week on my 2012 Honda Civic.\n"
      "Possible causes:\n- Dirty MAF sensor, often\n"
      "Toyota TSB EG-011-04 covers P0420.\n";
  const Entities all = All(text);  // checks every entity's span against the text
  Strings written;
  for (const ExtractedEntity& e : all) {
    if (e.type == "dtc" && e.start <= e.end && e.end <= text.size()) {
      written.push_back(text.substr(e.start, e.end - e.start));
    }
  }
  EXPECT_EQ(written, (Strings{"P0455", "p0171", "P0174", "P0420", "P0300", "P0304", "P0420"}));
}

// Hostile input: one token of 20,000 codes and one line of 20,000 coded
// descriptions stay linear (each lookup is bounded to its token, its line
// window or its sentence), so this finishes instead of hanging.
TEST_F(DtcExtractorTest, LongTokensAndLinesOfCodesStayLinear) {
  std::string token;
  std::string line;
  for (int i = 0; i < 20000; ++i) {
    token += "P0420/";
    line += "P0171 - System Too Lean sensor ";
  }
  EXPECT_EQ(Of(token, "dtc").size(), 20000u);
  const Entities dtcs = Of(line, "dtc");
  ASSERT_EQ(dtcs.size(), 20000u);
  EXPECT_EQ(Field(dtcs[0], "description"), "System Too Lean sensor");
}

}  // namespace
}  // namespace refinery
