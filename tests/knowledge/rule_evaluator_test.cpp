// The built-in evaluator on real and realistic text: scores in range,
// deterministic, the documented signals fire and say so in `reasoning`.
#include <gtest/gtest.h>

#include "knowledge/evaluator.h"
#include "support/process_util.h"

namespace refinery {
namespace {

class RuleEvaluatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto profile = LoadProfile("research", "");
    ASSERT_TRUE(profile.ok()) << profile.status().message();
    profile_ = std::make_shared<const Profile>(std::move(profile).value());
    evaluator_ = NewRuleEvaluator(profile_);
  }
  Evaluation Judge(std::string_view text, std::string_view url = "") {
    auto e = evaluator_->Evaluate({text, "", url});
    EXPECT_TRUE(e.ok()) << e.status().message();
    return e.ok() ? *e : Evaluation{};
  }

  std::shared_ptr<const Profile> profile_;
  std::unique_ptr<Evaluator> evaluator_;
};

constexpr const char* kAbstract =
    "In a randomized controlled trial of 412 patients, treatment with 20 mg atorvastatin reduced LDL cholesterol "
    "by 38% (p < 0.001) compared with placebo over 12 weeks, consistent with earlier cohort data (Smith et al., "
    "2019) [12].";
constexpr const char* kSpam =
    "BUY NOW!!! THIS MIRACLE CURE MELTS FAT WHILE YOU SLEEP!!! Click here for a limited time offer, order now "
    "and get a free trial!!!";

TEST_F(RuleEvaluatorTest, ScoresStayInRangeWithAKnownLabelOnRealAbstracts) {
  const auto labels = profile_->DomainLabels();
  for (const testing::ScifactDoc& doc : testing::LoadScifact(200)) {
    Evaluation e = Judge(doc.text);
    EXPECT_GE(e.trust_score, 0);
    EXPECT_LE(e.trust_score, 1);
    EXPECT_GE(e.relevance_score, 0);
    EXPECT_LE(e.relevance_score, 1);
    EXPECT_NE(std::find(labels.begin(), labels.end(), e.domain), labels.end()) << e.domain;
    EXPECT_EQ(e.evaluator, "rules:research");
    // Research abstracts are what the research profile is about.
    EXPECT_GE(e.relevance_score, profile_->extraction_gate) << doc.text.substr(0, 200);
  }
}

TEST_F(RuleEvaluatorTest, MeasuredCitedTextOutranksSpamAndTheReasoningNamesTheSignals) {
  Evaluation good = Judge(kAbstract);
  Evaluation spam = Judge(kSpam);
  EXPECT_GT(good.trust_score, profile_->base_trust);
  EXPECT_LT(spam.trust_score, 0.2);
  EXPECT_GT(good.relevance_score, spam.relevance_score);
  EXPECT_EQ(good.domain, "clinical");
  EXPECT_NE(good.reasoning.find("quantities x"), std::string::npos) << good.reasoning;
  EXPECT_NE(good.reasoning.find("citations x"), std::string::npos) << good.reasoning;
  EXPECT_NE(spam.reasoning.find("spam phrases x"), std::string::npos) << spam.reasoning;
  EXPECT_NE(spam.reasoning.find("exclamations x"), std::string::npos) << spam.reasoning;
  EXPECT_NE(spam.reasoning.find("shouting"), std::string::npos) << spam.reasoning;
}

TEST_F(RuleEvaluatorTest, SourceTrustHintsSetTheStartingTrust) {
  const std::string text = "Cells were cultured for 48 h and protein expression was measured by western blot.";
  Evaluation nih = Judge(text, "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC1/");
  Evaluation blog = Judge(text, "https://someone.blogspot.com/2020/01/post.html");
  Evaluation none = Judge(text);
  EXPECT_GT(nih.trust_score, none.trust_score);
  EXPECT_LT(blog.trust_score, none.trust_score);
  EXPECT_NE(nih.reasoning.find("source matches *://*.nih.gov/*"), std::string::npos) << nih.reasoning;
}

TEST_F(RuleEvaluatorTest, DeterministicAndSafeOnEmptyOrHostileText) {
  EXPECT_EQ(Judge(kAbstract).reasoning, Judge(kAbstract).reasoning);
  Evaluation empty = Judge("");
  EXPECT_EQ(empty.domain, "unknown");
  EXPECT_DOUBLE_EQ(empty.relevance_score, profile_->relevance_floor);
  std::string junk(200000, '[');
  junk += std::string(1000, '\xff') + "10.1234/" + std::string(5000, '!');
  Evaluation j = Judge(junk);
  EXPECT_GE(j.trust_score, 0);
  EXPECT_LE(j.trust_score, 1);
}

}  // namespace
}  // namespace refinery
