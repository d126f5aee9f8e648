// `refinery extract` and `refinery profile` as a profile author runs them,
// and a malformed profile stopping a serving command at start.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/refinery_process.h"
#include "support/test_support.h"

namespace refinery {
namespace {

using nlohmann::json;

std::vector<json> JsonLines(const std::string& output) {
  std::vector<json> lines;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    json value = json::parse(line, nullptr, false);
    EXPECT_FALSE(value.is_discarded()) << line;
    lines.push_back(value);
  }
  return lines;
}

TEST(KnowledgeCli, ExtractJsonPrintsOneLinePerInputWithSpansIntoItsText) {
  testing::TempDir dir;
  const std::string first = "Patients underwent diffusion tensor imaging (DTI) at 3 T (doi:10.1000/xyz1).";
  const std::string second = "No definitions here, just words.";
  {
    std::ofstream out(dir.path() + "/in.jsonl");
    out << json({{"id", "a"}, {"text", first}}).dump() << "\n\n" << json({{"id", 7}, {"text", second}}).dump() << "\n";
  }
  testing::CliRun run = testing::RunRefinery(dir.path(), {"extract", "--json", dir.path() + "/in.jsonl"});
  ASSERT_EQ(run.code, 0) << run.output;
  std::vector<json> lines = JsonLines(run.output);
  ASSERT_EQ(lines.size(), 2u) << run.output;
  EXPECT_EQ(lines[0]["id"], "a");
  EXPECT_EQ(lines[1]["id"], 7);
  for (const char* field : {"trust_score", "relevance_score", "domain", "reasoning"}) {
    EXPECT_TRUE(lines[0]["evaluation"].contains(field)) << field;
  }
  bool acronym = false, doi = false;
  for (const json& e : lines[0]["entities"]) {
    const std::string mention = first.substr(e["start"], e["end"].get<size_t>() - e["start"].get<size_t>());
    if (e["type"] == "acronym") {
      acronym = true;
      EXPECT_EQ(e["key"], "DTI");
      EXPECT_EQ(e["attributes"]["short"], "DTI");
      EXPECT_EQ(e["attributes"]["long"], "diffusion tensor imaging");
      EXPECT_EQ(mention, "diffusion tensor imaging (DTI");
    }
    if (e["type"] == "doi") {
      doi = true;
      EXPECT_EQ(mention, "10.1000/xyz1");
    }
  }
  EXPECT_TRUE(acronym && doi) << run.output;
  for (const json& e : lines[1]["entities"]) EXPECT_NE(e["type"], "acronym");
}

TEST(KnowledgeCli, ExtractReadsPlainTextAndStdinAndNamesABadLine) {
  testing::TempDir dir;
  { std::ofstream(dir.path() + "/note.txt") << "The endoplasmic reticulum (ER) folds proteins.\n"; }
  testing::CliRun text = testing::RunRefinery(dir.path(), {"extract", dir.path() + "/note.txt"});
  ASSERT_EQ(text.code, 0) << text.output;
  EXPECT_NE(text.output.find("acronym ER = \"endoplasmic reticulum\""), std::string::npos) << text.output;
  { std::ofstream(dir.path() + "/bad.jsonl") << "{\"id\": 1, \"text\": \"fine\"}\n{\"id\": 2}\n"; }
  testing::CliRun bad = testing::RunRefinery(dir.path(), {"extract", "--json", dir.path() + "/bad.jsonl"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.output.find("bad.jsonl:2: \"text\" must be a string"), std::string::npos) << bad.output;
  testing::CliRun missing = testing::RunRefinery(dir.path(), {"extract", dir.path() + "/none.txt"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.output.find("cannot read"), std::string::npos) << missing.output;
}

TEST(KnowledgeCli, ProfileCheckAndAMalformedProfileStopTheProcessNamingTheKey) {
  testing::TempDir dir;
  const std::string bad = dir.path() + "/mine.toml";
  { std::ofstream(bad) << "name = 'mine'\n[evaluation]\nextraction_gate = 3\n"; }
  testing::CliRun check = testing::RunRefinery(dir.path(), {"profile", "check", bad});
  EXPECT_EQ(check.code, 2);
  EXPECT_EQ(check.output, "refinery: " + bad + ": evaluation.extraction_gate: expected a number in 0..1\n");
  testing::CliRun good = testing::RunRefinery(dir.path(), {"profile", "check", std::string(REFINERY_SOURCE_DIR) +
                                                                                  "/profiles/research.toml"});
  EXPECT_EQ(good.code, 0) << good.output;
  EXPECT_NE(good.output.find("ok (profile research"), std::string::npos);
  testing::CliRun list = testing::RunRefinery(dir.path(), {"profile", "list"});
  EXPECT_NE(list.output.find("research\n"), std::string::npos) << list.output;
  // A serving command refuses to start on it, before it creates anything.
  testing::CliRun migrate = testing::RunRefinery(dir.path(), {"--data-dir", dir.path() + "/data", "migrate"},
                                                 {{"REFINERY_PROFILE", bad}});
  EXPECT_EQ(migrate.code, 2);
  EXPECT_NE(migrate.output.find(bad + ": evaluation.extraction_gate: expected a number in 0..1"), std::string::npos)
      << migrate.output;
  testing::CliRun up = testing::RunRefinery(dir.path(), {"--data-dir", dir.path() + "/data", "up"},
                                            {{"REFINERY_PROFILE", bad}});
  EXPECT_EQ(up.code, 2);
  EXPECT_NE(up.output.find(bad + ": evaluation.extraction_gate"), std::string::npos) << up.output;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data"));
  testing::CliRun unknown = testing::RunRefinery(dir.path(), {"--data-dir", dir.path() + "/data", "migrate"},
                                                 {{"REFINERY_PROFILE", "nonesuch"}});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.output.find("no profile named 'nonesuch'"), std::string::npos) << unknown.output;
}

}  // namespace
}  // namespace refinery
