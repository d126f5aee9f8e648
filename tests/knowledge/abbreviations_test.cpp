#include "knowledge/abbreviations.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

namespace refinery {
namespace {

using Pair = std::pair<std::string, std::string>;

bool IsBoundary(std::string_view text, size_t pos) {
  return pos >= text.size() || (static_cast<unsigned char>(text[pos]) & 0xC0) != 0x80;
}

// Every guarantee of abbreviations.h: spans inside the text, matching the
// forms, on code point boundaries. (Text order is checked by the tests that
// compare whole lists.)
void ExpectInvariants(std::string_view text, const std::vector<AbbreviationDefinition>& defs) {
  for (const AbbreviationDefinition& d : defs) {
    ASSERT_LE(d.short_start, d.short_end);
    ASSERT_LE(d.short_end, text.size());
    ASSERT_LE(d.long_start, d.long_end);
    ASSERT_LE(d.long_end, text.size());
    EXPECT_EQ(d.short_form, text.substr(d.short_start, d.short_end - d.short_start));
    EXPECT_EQ(d.long_form, text.substr(d.long_start, d.long_end - d.long_start));
    EXPECT_FALSE(d.short_form.empty());
    EXPECT_GT(d.long_form.size(), d.short_form.size());
    EXPECT_TRUE(IsBoundary(text, d.short_start) && IsBoundary(text, d.short_end));
    EXPECT_TRUE(IsBoundary(text, d.long_start) && IsBoundary(text, d.long_end));
  }
}

std::vector<Pair> Pairs(std::string_view text) {
  std::vector<AbbreviationDefinition> defs = FindAbbreviationDefinitions(text);
  ExpectInvariants(text, defs);
  std::vector<Pair> pairs;
  for (const AbbreviationDefinition& d : defs) pairs.emplace_back(d.short_form, d.long_form);
  return pairs;
}

// Sentences below are from SciFact abstracts (corpus.jsonl), some shortened.

TEST(AbbreviationsTest, LongFormThenShortFormWithSpans) {
  std::string text =
      "In the present longitudinal study, we used diffusion tensor imaging (DTI) to assess white matter.";
  std::vector<AbbreviationDefinition> defs = FindAbbreviationDefinitions(text);
  ASSERT_EQ(defs.size(), 1u);
  EXPECT_EQ(defs[0].short_form, "DTI");
  EXPECT_EQ(defs[0].long_form, "diffusion tensor imaging");
  EXPECT_EQ(defs[0].short_start, text.find("DTI"));
  EXPECT_EQ(defs[0].short_end, text.find("DTI") + 3);
  EXPECT_EQ(defs[0].long_start, text.find("diffusion"));
  EXPECT_EQ(defs[0].long_end, text.find(" (DTI)"));
  ExpectInvariants(text, defs);
}

TEST(AbbreviationsTest, ShortFormThenLongForm) {
  std::string text =
      "The type II prokaryotic CRISPR (clustered regularly interspaced short palindromic repeats)/Cas adaptive "
      "immune system has been shown to facilitate RNA-guided site-specific DNA cleavage.";
  std::vector<AbbreviationDefinition> defs = FindAbbreviationDefinitions(text);
  ASSERT_EQ(defs.size(), 1u);
  EXPECT_EQ(defs[0].short_form, "CRISPR");
  EXPECT_EQ(defs[0].long_form, "clustered regularly interspaced short palindromic repeats");
  EXPECT_EQ(defs[0].short_start, text.find("CRISPR"));
  EXPECT_EQ(defs[0].long_start, text.find("clustered"));
  ExpectInvariants(text, defs);

  EXPECT_EQ(Pairs("we used DTI (diffusion tensor imaging) to assess white matter"),
            (std::vector<Pair>{{"DTI", "diffusion tensor imaging"}}));
}

TEST(AbbreviationsTest, DigitsHyphensAndGreekLetters) {
  EXPECT_EQ(Pairs("The 4T1 cells stimulate de novo overexpression of Fra-1 in RAW264.7 cells, and then Fra-1 binds "
                  "to the interleukin 6 (IL-6) promoter."),
            (std::vector<Pair>{{"IL-6", "interleukin 6"}}));
  EXPECT_EQ(Pairs("Ski/SnoN are important transcription regulators of the transforming growth factor-\u03B2 "
                  "(TGF-\u03B2) superfamily."),
            (std::vector<Pair>{{"TGF-\u03B2", "transforming growth factor-\u03B2"}}));
  // A Greek letter also matches its spelt-out name; units stay out.
  EXPECT_EQ(Pairs("explants treated with interleukin 1 beta (IL-1\u03B2) (100 pg/mL), tumor necrosis factor-alpha "
                  "(TNF-\u03B1) (5 ng/mL), transforming growth factor-beta-1 (TGF-\u03B21) (10 ng/mL)"),
            (std::vector<Pair>{{"IL-1\u03B2", "interleukin 1 beta"},
                               {"TNF-\u03B1", "tumor necrosis factor-alpha"},
                               {"TGF-\u03B21", "transforming growth factor-beta-1"}}));
}

TEST(AbbreviationsTest, ClausesAndBracketsInOrder) {
  EXPECT_EQ(Pairs("Hutchinson\u2013Gilford progeria syndrome (HGPS; OMIM 176670) is an extremely rare but devastating "
                  "disorder that mimics premature aging."),
            (std::vector<Pair>{{"HGPS", "Hutchinson\u2013Gilford progeria syndrome"}}));
  EXPECT_EQ(Pairs("OBJECTIVE The 1987 American College of Rheumatology (ACR; formerly the American Rheumatism "
                  "Association) classification criteria for rheumatoid arthritis (RA) have been criticised."),
            (std::vector<Pair>{{"ACR", "American College of Rheumatology"}, {"RA", "rheumatoid arthritis"}}));
  EXPECT_EQ(Pairs("Compared with women with a normal BMI, the unadjusted pooled odds ratio (OR) of an underweight "
                  "woman developing GDM was 0.75 (95% confidence interval [CI] 0.69 to 0.82)."),
            (std::vector<Pair>{{"OR", "odds ratio"}, {"CI", "confidence interval"}}));
}

TEST(AbbreviationsTest, SameShortFormTwoLongForms) {
  EXPECT_EQ(Pairs("We measured the apparent diffusion coefficient (ADC) and, separately, the analog-to-digital "
                  "converter (ADC) gain."),
            (std::vector<Pair>{{"ADC", "apparent diffusion coefficient"}, {"ADC", "analog-to-digital converter"}}));
}

TEST(AbbreviationsTest, ParentheticalsThatAreNotDefinitions) {
  EXPECT_TRUE(Pairs("As reported, IL28B.rs12979860 predicted the outcome of HCV infection (p < 0.05), but we did "
                    "not find")
                  .empty());
  EXPECT_TRUE(Pairs("to delineate fiber architecture in cerebral white matter in preterm (n = 17) and full-term "
                    "infants")
                  .empty());
  EXPECT_TRUE(Pairs("Smad proteins have two conserved globular domains\u2014the MH1 and MH2 domains (Fig. 2). The "
                    "MH1 domain")
                  .empty());
  EXPECT_TRUE(Pairs("the same protocol as described (see above) and by earlier work (1995) in detail").empty());
  EXPECT_TRUE(Pairs("Immunohistochemical staining for CD68 (marker for macrophages) was performed").empty());
  EXPECT_TRUE(Pairs("the stability of the immobilized cofactor (i) and the spacer-arm composition (ii)").empty());
  EXPECT_TRUE(Pairs("the catalytic subunit TAF(II) and p40(phox) are parts of names").empty());
  EXPECT_TRUE(Pairs("small arterioles (75-250 \u03BCm) isolated from the fat (e.g. visceral)").empty());
}

TEST(AbbreviationsTest, HostileInputReturns) {
  std::string opens(100000, '(');
  EXPECT_TRUE(FindAbbreviationDefinitions(opens).empty());
  std::string closes(100000, ')');
  EXPECT_TRUE(FindAbbreviationDefinitions(closes).empty());

  std::string nested;
  for (int i = 0; i < 50000; ++i) nested += "a (";
  nested += "AB";
  for (int i = 0; i < 50000; ++i) nested += ')';
  ExpectInvariants(nested, FindAbbreviationDefinitions(nested));

  std::string unbalanced = "alpha beta (AB alpha beta [AB) gamma delta (GD] ((( ]]] )";
  ExpectInvariants(unbalanced, FindAbbreviationDefinitions(unbalanced));

  std::string invalid = "\xff\xfe alpha \xc3 beta (\xe2\x82 AB\xce) \xce\xb1\xce (\xce\xb1\xce\xb2) \x80\x80 (";
  ExpectInvariants(invalid, FindAbbreviationDefinitions(invalid));

  std::string long_word(200000, 'a');
  long_word += " (AA) " + std::string(200000, '-') + " (A-A) " + std::string(5000, 'x') + " (xx)";
  ExpectInvariants(long_word, FindAbbreviationDefinitions(long_word));

  std::string repeated;
  for (int i = 0; i < 20000; ++i) repeated += "alpha-beta-gamma (ABG) (AB) ";
  std::vector<AbbreviationDefinition> defs = FindAbbreviationDefinitions(repeated);
  ExpectInvariants(repeated, defs);
  EXPECT_EQ(defs.size(), 20000u);  // "(AB)" follows a bracket: no long form
}

TEST(AbbreviationsTest, RandomBytesKeepInvariants) {
  std::mt19937 rng(12345);
  const std::vector<std::string> pieces = {"(",    ")",    "[",        "]",       " ",    "a", "B", "c",
                                           "D",    "1",    "-",        "/",       ",",    ";", ".", "\xce\xb1",
                                           "\xce", "\xff", "protein ", "kinase ", "(PK)", "\""};
  std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1);
  for (int round = 0; round < 300; ++round) {
    std::string text;
    for (int i = 0; i < 400; ++i) text += pieces[pick(rng)];
    ExpectInvariants(text, FindAbbreviationDefinitions(text));
  }
}

}  // namespace
}  // namespace refinery
