// Domain profiles: the shipped ones load, and a malformed one fails naming
// the file, the key and the problem.
#include "knowledge/profile.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/test_support.h"

namespace refinery {
namespace {

std::string ErrorOf(const std::string& toml) {
  auto profile = ParseProfile(toml, "p.toml");
  return profile.ok() ? "" : profile.status().message();
}

TEST(Profile, EveryShippedProfileLoadsAndIsBuiltIn) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(REFINERY_SOURCE_DIR) + "/profiles")) {
    if (entry.path().extension() != ".toml") continue;
    auto profile = LoadProfile(entry.path().string(), "");
    ASSERT_TRUE(profile.ok()) << profile.status().message();
    EXPECT_EQ(profile->name, entry.path().stem().string());
    files.push_back(profile->name);
    auto builtin = LoadProfile(profile->name, "/nonexistent");
    ASSERT_TRUE(builtin.ok()) << builtin.status().message();
    EXPECT_EQ(builtin->entities.size(), profile->entities.size());
  }
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, BuiltinProfileNames());
}

TEST(Profile, ResearchIsTheDefaultAndHasTheIssuesEntityTypes) {
  auto profile = LoadProfile("research", "");
  ASSERT_TRUE(profile.ok()) << profile.status().message();
  for (const char* type : {"acronym", "doi", "pmid", "arxiv", "url", "keyphrase"}) {
    EXPECT_NE(profile->FindEntity(type), nullptr) << type;
  }
  EXPECT_DOUBLE_EQ(profile->extraction_gate, 0.3);
  const auto labels = profile->DomainLabels();
  EXPECT_NE(std::find(labels.begin(), labels.end(), "general"), labels.end());
  EXPECT_EQ(labels.back(), "unknown");
  EXPECT_FALSE(profile->evaluate.schema.empty());
  EXPECT_FALSE(profile->extract.prompt.empty());
}

TEST(Profile, AutomotiveHasThePythonSystemsDomainsAndNeverGatesACode) {
  auto profile = LoadProfile("automotive", "");
  ASSERT_TRUE(profile.ok()) << profile.status().message();
  EXPECT_EQ(profile->DomainLabels(), (std::vector<std::string>{"obd", "electrical", "engine", "transmission", "brakes",
                                                               "suspension", "hvac", "body", "general", "unknown"}));
  EXPECT_EQ(profile->always_extract, std::vector<std::string>{"dtc"});
  for (const char* type : {"dtc", "cause", "diagnostic_step", "sensor", "tsb", "vehicle"}) {
    EXPECT_NE(profile->FindEntity(type), nullptr) << type;
  }
  EXPECT_EQ(profile->FindEntity("dtc")->key_pattern, "^[PBCU][0-9A-F]{4}$");
  EXPECT_FALSE(profile->FindEntity("diagnostic_step")->vocabulary.empty());  // the tools
  const std::string schema = profile->extract.schema;
  for (const char* key : {"dtc_codes", "causes", "diagnostic_steps", "sensors", "tsb_references", "vehicles_mentioned",
                          "document_category"}) {
    EXPECT_NE(schema.find(key), std::string::npos) << key;
  }
}

TEST(Profile, MalformedProfilesNameTheFileTheKeyAndTheProblem) {
  EXPECT_EQ(ErrorOf("description = 'x'"), "p.toml: name: missing (required)");
  EXPECT_EQ(ErrorOf("name = 'x'\nnmae = 'y'"), "p.toml: nmae: unknown key");
  EXPECT_EQ(ErrorOf("name = 'x'\n[evaluation]\nbase_trust = 1.5"),
            "p.toml: evaluation.base_trust: expected a number in 0..1");
  EXPECT_EQ(ErrorOf("name = 'x'\n[evaluation]\nbase_trust = 'high'"),
            "p.toml: evaluation.base_trust: expected a number in 0..1");
  EXPECT_EQ(ErrorOf("name = 'x'\n[evaluation.signals]\nspam_phrases = 'buy'"),
            "p.toml: evaluation.signals.spam_phrases: expected an array of strings");
  EXPECT_EQ(ErrorOf("name = 'x'\n[evaluation]\ndomains = ['a']\ndefault_domain = 'b'"),
            "p.toml: evaluation.default_domain: 'b' is not one of evaluation.domains");
  EXPECT_EQ(ErrorOf("name = 'x'\n[evaluation]\ndomains = ['a']\n[evaluation.domain_keywords]\nb = ['x']"),
            "p.toml: evaluation.domain_keywords.b: not one of evaluation.domains");
  EXPECT_EQ(ErrorOf("name = 'x'\n[entities.t]\nextractor = 'magic'\nkey = 'k'\nfields = { k = 'text' }"),
            "p.toml: entities.t.extractor: unknown rule extractor 'magic'");
  EXPECT_EQ(ErrorOf("name = 'x'\n[entities.t]\nkey = 'k'\nfields = { j = 'text' }"),
            "p.toml: entities.t.key: 'k' is not one of its fields");
  EXPECT_EQ(ErrorOf("name = 'x'\n[entities.t]\nkey = 'k'\nfields = { k = 'blob' }"),
            "p.toml: entities.t.fields.k: unknown field kind 'blob' (text, integer, number, list, enum:a|b)");
  EXPECT_EQ(ErrorOf("name = 'x'\n[[evaluation.trust_hints]]\npattern = '*'"),
            "p.toml: evaluation.trust_hints[0].trust: missing (required)");
  EXPECT_EQ(ErrorOf("name = 'x'\n[llm.evaluate]\nschema = '[1'"), "p.toml: llm.evaluate.schema: expected a JSON object");
  EXPECT_EQ(ErrorOf("name = 'x'\n[evaluation]\nalways_extract = ['dtc']"),
            "p.toml: evaluation.always_extract: 'dtc' is not an entity type");
  EXPECT_NE(ErrorOf("name = 'x'\n[entities.t]\nkey = 'k'\npattern = '(['\nfields = { k = 'text' }")
                .find("p.toml: entities.t.pattern: not a valid regular expression"),
            std::string::npos);
  const std::string syntax = ErrorOf("name = 'x'\n\n[evaluation\n");
  EXPECT_EQ(syntax.rfind("p.toml:3: ", 0), 0u) << syntax;
}

TEST(Profile, LookupPrefersTheProfilesDirThenBuiltInAndNamesTheChoicesWhenUnknown) {
  testing::TempDir dir;
  {
    std::ofstream out(dir.path() + "/research.toml");
    out << "name = 'research'\ndescription = 'local copy'\n";
  }
  auto local = LoadProfile("research", dir.path());
  ASSERT_TRUE(local.ok()) << local.status().message();
  EXPECT_EQ(local->description, "local copy");
  EXPECT_EQ(local->source, dir.path() + "/research.toml");
  auto by_path = LoadProfile(dir.path() + "/research.toml", "");
  ASSERT_TRUE(by_path.ok());
  auto unknown = LoadProfile("nonesuch", dir.path());
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("no profile named 'nonesuch' (built in: "), std::string::npos);
  auto missing = LoadProfile(dir.path() + "/missing.toml", "");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing.toml: cannot read profile"), std::string::npos);
}

}  // namespace
}  // namespace refinery
