// The research profile's rule extractors on sentences as papers write them:
// identifiers with their spans, acronyms through the profile, keyphrases.
#include <gtest/gtest.h>

#include "knowledge/extractor.h"
#include "support/process_util.h"

namespace refinery {
namespace {

class RuleExtractorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto profile = LoadProfile("research", "");
    ASSERT_TRUE(profile.ok()) << profile.status().message();
    extractor_ = NewRuleExtractor(std::make_shared<const Profile>(std::move(profile).value()));
  }
  // The (key, mention) pairs of one type, the mention cut from the text by its span.
  std::vector<std::pair<std::string, std::string>> Found(std::string_view text, const std::string& type) {
    auto entities = extractor_->Extract(text);
    EXPECT_TRUE(entities.ok());
    std::vector<std::pair<std::string, std::string>> out;
    for (const ExtractedEntity& e : entities.ok() ? *entities : std::vector<ExtractedEntity>{}) {
      EXPECT_LE(e.start, e.end);
      EXPECT_LE(e.end, text.size());
      if (e.type == type) out.emplace_back(e.key, std::string(text.substr(e.start, e.end - e.start)));
    }
    return out;
  }
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  std::unique_ptr<Extractor> extractor_;
};

TEST_F(RuleExtractorTest, DoisLowerCasedWithoutTheSentencesFullStop) {
  EXPECT_EQ(Found("Data are available (doi:10.1038/NATURE12373). See also https://doi.org/10.1126/science.169.3946.635.",
                  "doi"),
            (Pairs{{"10.1038/nature12373", "10.1038/NATURE12373"},
                   {"10.1126/science.169.3946.635", "10.1126/science.169.3946.635"}}));
  EXPECT_EQ(Found("A DOI with brackets 10.1002/(SICI)1097-4636(199706)35:4<471::AID-JBM7>3.0.CO;2-M is rare.", "doi")
                .size(),
            1u);
  EXPECT_TRUE(Found("Version 10.2/3 of the tool; ratio 10.12345 of x.", "doi").empty());
}

TEST_F(RuleExtractorTest, PmidsArxivIdsAndUrls) {
  const std::string text =
      "As reported previously (PMID: 23456789; PMID 1234), and in the preprint arXiv:2101.00001v2 and "
      "arXiv:hep-th/9901001, code is at https://github.com/example/tool, (http://example.org/a_(b)).";
  EXPECT_EQ(Found(text, "pmid"), (Pairs{{"23456789", "PMID: 23456789"}, {"1234", "PMID 1234"}}));
  EXPECT_EQ(Found(text, "arxiv"),
            (Pairs{{"2101.00001", "arXiv:2101.00001v2"}, {"hep-th/9901001", "arXiv:hep-th/9901001"}}));
  EXPECT_EQ(Found(text, "url"), (Pairs{{"https://github.com/example/tool", "https://github.com/example/tool"},
                                       {"http://example.org/a_(b)", "http://example.org/a_(b)"}}));
  EXPECT_TRUE(Found("The PMIDs were 12 and thepmid 99 are not identifiers.", "pmid").empty());
}

TEST_F(RuleExtractorTest, AcronymsGoThroughTheProfileBothWays) {
  const std::string text =
      "White matter was imaged with diffusion tensor imaging (DTI). In contrast, MRS (magnetic resonance "
      "spectroscopy) measured metabolites.";
  auto acronyms = extractor_->Extract(text);
  ASSERT_TRUE(acronyms.ok());
  std::vector<std::pair<std::string, std::string>> got;
  for (const ExtractedEntity& e : *acronyms) {
    if (e.type == "acronym") got.emplace_back(e.attributes.at("short"), e.attributes.at("long"));
  }
  EXPECT_EQ(got, (Pairs{{"DTI", "diffusion tensor imaging"}, {"MRS", "magnetic resonance spectroscopy"}}));
}

TEST_F(RuleExtractorTest, KeyphrasesAreBoundedFoldedAndInsideTheText) {
  for (const testing::ScifactDoc& doc : testing::LoadScifact(50)) {
    auto phrases = Found(doc.text, "keyphrase");
    EXPECT_LE(phrases.size(), 8u);
    for (const auto& [key, mention] : phrases) {
      EXPECT_FALSE(key.empty());
      EXPECT_EQ(key.find("  "), std::string::npos);
      for (char c : key) EXPECT_FALSE(c >= 'A' && c <= 'Z') << key;
    }
  }
}

TEST_F(RuleExtractorTest, HostileInputReturnsInBoundedTime) {
  std::string junk;
  for (int i = 0; i < 20000; ++i) junk += "(10.1234/ http:// PMID arXiv: [";
  junk += std::string(100000, '(') + std::string(1000, '\xC3');
  auto entities = extractor_->Extract(junk);
  ASSERT_TRUE(entities.ok());
  for (const ExtractedEntity& e : *entities) EXPECT_LE(e.end, junk.size());
}

}  // namespace
}  // namespace refinery
