// The LLM extractor over the fake reasoning server (real HTTP), automotive
// profile: a good model's answer becomes entities held to the profile (an
// invented code is dropped, children keyed by their code); a bad model's
// answer (prose, a fence, one invalid field) is repaired; one still
// invalid after the repair is an error, never facts.
#include <mutex>

#include <gtest/gtest.h>

#include "knowledge/extractor.h"
#include "llm/llm_endpoint.h"
#include "support/fake_llm_server.h"

namespace refinery {
namespace {

using nlohmann::json;
using testing::ChatCall;
using testing::ChatReply;

constexpr const char* kPassage =
    "P0420 Catalyst System Efficiency Below Threshold (Bank 1). Common causes: a failing catalytic converter; "
    "a faulty downstream oxygen sensor. Check the downstream O2 sensor voltage with a multimeter.";

json GoodAnswer() {
  return json::parse(R"json({
    "dtc_codes": [{"code": "P0420", "description": "Catalyst System Efficiency Below Threshold (Bank 1)",
                   "category": "powertrain", "severity": "moderate"},
                  {"code": "P0171", "description": "System Too Lean", "category": "powertrain"}],
    "causes": [{"dtc_code": "P0420", "description": "a failing catalytic converter", "likelihood": "high"},
               {"dtc_code": "P0420", "description": "Faulty downstream O2 sensor"}],
    "diagnostic_steps": [{"dtc_code": "P0420", "step_order": 1,
                          "description": "Check the downstream O2 sensor voltage", "tools_required": ["multimeter"]}],
    "sensors": [], "tsb_references": [], "vehicles_mentioned": [], "document_category": "dtc_reference"})json");
}

class LlmExtractorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.AddModel(testing::FakeModel::Chat("qwen2.5:7b"));
    fake_.Start();
    auto profile = LoadProfile("automotive", "");
    ASSERT_TRUE(profile.ok()) << profile.status().ToString();
    LlmEndpointConfig e;
    e.url = fake_.url();
    e.model = "qwen2.5:7b";
    e.retries = 0;
    auto chat = MakeRemoteChat(std::make_shared<LlmEndpoint>("llm_reason", e, ""));
    auto extractor = NewLlmExtractor(std::make_shared<const Profile>(*profile), std::move(chat), nullptr);
    ASSERT_TRUE(extractor.ok()) << extractor.status().ToString();
    extractor_ = std::move(extractor).value();
  }

  void Answers(std::vector<std::string> replies) {
    fake_.SetChatScript([this, replies](const ChatCall&) {
      std::lock_guard lock(mu_);
      ++calls_;
      return ChatReply{replies[std::min<size_t>(calls_, replies.size()) - 1], "stop", "", {}, {}};
    });
  }

  static const ExtractedEntity* Find(const std::vector<ExtractedEntity>& found, const std::string& type,
                                     const std::string& key) {
    for (const auto& e : found) {
      if (e.type == type && e.key == key) return &e;
    }
    return nullptr;
  }

  testing::FakeLlmServer fake_;
  std::unique_ptr<Extractor> extractor_;
  std::mutex mu_;
  size_t calls_ = 0;
};

TEST_F(LlmExtractorTest, AGoodAnswerBecomesEntitiesHeldToTheProfile) {
  Answers({GoodAnswer().dump()});
  auto found = extractor_->Extract(kPassage);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  const ExtractedEntity* dtc = Find(*found, "dtc", "P0420");
  ASSERT_NE(dtc, nullptr);
  EXPECT_EQ(dtc->attributes["category"], "powertrain");
  EXPECT_EQ(dtc->attributes["severity"], "moderate");
  EXPECT_EQ(std::string_view(kPassage).substr(dtc->start, dtc->end - dtc->start), "P0420");
  EXPECT_EQ(Find(*found, "dtc", "P0171"), nullptr) << "a code the passage does not name was stored";
  const ExtractedEntity* cause = Find(*found, "cause", "P0420:failing catalytic converter");
  ASSERT_NE(cause, nullptr);
  EXPECT_EQ(cause->parent_type, "dtc");
  EXPECT_EQ(cause->parent_key, "P0420");
  EXPECT_EQ(cause->attributes["likelihood"], "high");
  EXPECT_NE(Find(*found, "cause", "P0420:faulty downstream o2 sensor"), nullptr) << "a paraphrased cause was lost";
  const ExtractedEntity* step = Find(*found, "diagnostic_step", "P0420:check the downstream o2 sensor voltage");
  ASSERT_NE(step, nullptr);
  EXPECT_EQ(step->attributes["step_order"], 1);
  EXPECT_EQ(step->attributes["tools_required"], json({"multimeter"}));
  for (size_t i = 1; i < found->size(); ++i) EXPECT_LE((*found)[i - 1].start, (*found)[i].start);
}

TEST_F(LlmExtractorTest, ABadModelsAnswerIsRepairedOrRefusedNeverStored) {
  json invalid = GoodAnswer();
  invalid["dtc_codes"][0]["severity"] = "catastrophic";
  Answers({"Sure! Here is what I found:\n```json\n" + invalid.dump() + "\n```", GoodAnswer().dump()});
  auto repaired = extractor_->Extract(kPassage);
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  EXPECT_EQ(calls_, 2u);
  ASSERT_NE(Find(*repaired, "dtc", "P0420"), nullptr);
  EXPECT_EQ(Find(*repaired, "dtc", "P0420")->attributes["severity"], "moderate");

  calls_ = 0;
  Answers({invalid.dump()});
  auto refused = extractor_->Extract(std::string(kPassage) + " Again.");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("unusable answer"), std::string::npos);
  EXPECT_NE(refused.status().message().find("catastrophic"), std::string::npos) << refused.status().message();
}

}  // namespace
}  // namespace refinery
