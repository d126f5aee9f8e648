// The automotive scenario (automotive_scenario.h) with the LLM evaluator
// and extractor on the fake reasoning server (issue 12). The fake's model
// answers as the built-in rules would -- it runs them on the passage it
// finds in the prompt and writes their findings in the profile's answer
// schemas -- so every figure of the rules' run must come out exactly.
// A good model (pulled first: the opt-in) answers plain JSON through
// Ollama; a bad one, through the OpenAI API, wraps its answers in fences,
// prose and <think> blocks, invents a code the passage lacks, gets one
// field wrong once (repaired by the round trip) and answers one page
// invalidly every time (recorded as a failed extraction, its facts never
// stored).
#include <atomic>

#include "e2e/automotive_scenario.h"
#include "knowledge/evaluator.h"
#include "knowledge/extractor.h"
#include "support/fake_llm_server.h"

namespace refinery::testing {
namespace {

using automotive_scenario::Text;
using nlohmann::json;
namespace pages = automotive_pages;

// The text of the prompt between `label` and the end of its line (or of the
// message when `to_end`).
std::string After(const std::string& message, const std::string& label, bool to_end) {
  const size_t at = message.rfind(label);
  if (at == std::string::npos) return "";
  const size_t from = at + label.size();
  return to_end ? message.substr(from) : message.substr(from, message.find('\n', from) - from);
}

// The model: the rules' findings, in the profile's answer schemas.
class RuleMirror {
 public:
  RuleMirror()
      : profile_(std::make_shared<const Profile>(LoadProfile("automotive", "").value())),
        evaluator_(NewRuleEvaluator(profile_)),
        extractor_(NewRuleExtractor(profile_)),
        schema_(json::parse(profile_->extract.schema)) {}

  bool IsExtraction(const ChatCall& call) const { return call.prompt.find("From the passage, list") != std::string::npos; }
  bool IsRepair(const ChatCall& call) const { return call.request.value("messages", json::array()).size() > 2; }
  std::string Passage(const ChatCall& call) const { return After(FirstUser(call), "Passage:\n", true); }

  json Answer(const ChatCall& call) const {
    const std::string user = FirstUser(call);
    const std::string passage = After(user, "Passage:\n", true);
    if (IsExtraction(call)) return Extraction(passage);
    auto e = evaluator_->Evaluate({passage, After(user, "Document title: ", false), After(user, "Source: ", false)});
    if (!e.ok()) return json::object();
    return {{"trust_score", e->trust_score},
            {"relevance_score", e->relevance_score},
            {"domain", e->domain},
            {"reasoning", e->reasoning}};
  }

 private:
  static std::string FirstUser(const ChatCall& call) {
    for (const json& m : call.request.value("messages", json::array())) {
      if (m.value("role", "") == "user") return m.value("content", "");
    }
    return "";
  }

  json Extraction(const std::string& passage) const {
    json answer = json::object();
    for (const auto& [list, spec] : schema_["properties"].items()) {
      if (spec.value("type", "") == "array") answer[list] = json::array();
    }
    answer["document_category"] = "general_reference";
    auto found = extractor_->Extract(passage);
    if (!found.ok()) return answer;
    for (const ExtractedEntity& e : *found) {
      const EntityTypeDef* def = profile_->FindEntity(e.type);
      if (def == nullptr || def->llm_list.empty()) continue;
      const json& allowed = schema_["properties"][def->llm_list]["items"]["properties"];
      json item = json::object();
      for (const auto& [field, value] : e.attributes.items()) {
        if (allowed.contains(field)) item[field] = value;
      }
      if (!def->llm_parent.empty()) item[def->llm_parent.substr(def->llm_parent.find(':') + 1)] = e.parent_key;
      if (!item.contains(def->key_field) && def->llm_parent.empty()) item[def->key_field] = e.key;
      answer[def->llm_list].push_back(std::move(item));
    }
    return answer;
  }

  std::shared_ptr<const Profile> profile_;
  std::unique_ptr<Evaluator> evaluator_;
  std::unique_ptr<Extractor> extractor_;
  json schema_;
};

ChatReply Reply(std::string content) { return ChatReply{std::move(content), "stop", "", {}, {}}; }

int64_t StatsCount(const RefineryUp& up, const char* key) {
  return automotive_scenario::Int(up.Get("/stats"), key);
}

// The model is not on the server at first: with the pull opt-in, the API's
// health check pulls it, and the stages wait until it is there.
TEST(AutomotiveLlmEndToEnd, AGoodModelGivesTheRulesFiguresExactlyAndEachAnswerIsPaidOnce) {
  RuleMirror mirror;
  FakeLlmServer fake;
  fake.AddPullableModel(FakeModel::Chat("qwen2.5:7b"));
  fake.SetChatScript([&](const ChatCall& call) { return Reply(mirror.Answer(call).dump()); });
  fake.Start();
  automotive_scenario::RunScenario(
      {{"OLLAMA_BASE_URL", fake.url()}, {"REASONING_MODEL", "qwen2.5:7b"}, {"REFINERY_REASON_PULL", "true"}}, {},
      [&](const RefineryUp& up, const std::vector<int64_t>& ids) {
        for (int64_t id : ids) {
          const json chunks = up.Get("/documents/" + std::to_string(id) + "/chunks");
          for (const json& c : chunks.value("chunks", json::array())) {
            EXPECT_EQ(Text(c, "evaluator"), "ollama:qwen2.5:7b") << c.dump(2);
            EXPECT_TRUE(c.value("extraction_failure", json()).is_null()) << c.dump(2);
          }
        }
        EXPECT_EQ(fake.RequestCount("/api/pull"), 1) << "pulled once, by the API's health check";
        EXPECT_TRUE(fake.HasModel("qwen2.5:7b"));
        // One evaluation and one extraction per page's chunk; none twice.
        EXPECT_EQ(fake.RequestCount("/api/chat"), static_cast<int>(2 * pages::Pages().size()));
        EXPECT_EQ(StatsCount(up, "chunks_evaluation_failed"), 0);
        EXPECT_EQ(StatsCount(up, "chunks_extraction_failed"), 0);
      });
}

// The bad model's answer to `call`: the mirror's, badly delivered.
ChatReply BadAnswer(const RuleMirror& mirror, const ChatCall& call, std::atomic<int>& table_answers) {
  json answer = mirror.Answer(call);
  const std::string passage = mirror.Passage(call);
  const bool extraction = mirror.IsExtraction(call);
  if (extraction && passage == pages::kForumAccord) {  // invalid every time: a code off the pattern
    answer["dtc_codes"] = json::array({{{"code", "P-0300"}, {"description", "random misfire"}}});
  }
  if (extraction && passage == pages::kCodeTable && table_answers++ == 0) {  // wrong once: repaired
    for (json& code : answer["dtc_codes"]) {
      if (Text(code, "code") == "U0100") code["severity"] = "high";  // the table's word, not the enum's
    }
  }
  if (extraction && passage == pages::kConverterAd) {  // a code the passage lacks
    answer["dtc_codes"].push_back({{"code", "P0455"}, {"description", "EVAP system large leak"}});
  }
  const std::string body = answer.dump(2);
  switch (std::hash<std::string>{}(passage) % 3) {
    case 0:
      return Reply("```json\n" + body + "\n```");
    case 1:
      return Reply("Sure! Here is the JSON you asked for:\n" + body + "\nLet me know if you need anything else.");
    default:
      return Reply("<think>The passage names codes; list them.</think>\n" + body);
  }
}

TEST(AutomotiveLlmEndToEnd, ABadModelsAnswersAreRepairedOrRecordedAsFailedNeverStoredAsFacts) {
  RuleMirror mirror;
  std::atomic<int> table_answers{0};
  FakeLlmServer fake;
  fake.AddModel(FakeModel::Chat("gpt-4o-mini"));
  fake.SetChatScript([&](const ChatCall& call) { return BadAnswer(mirror, call, table_answers); });
  fake.Start();
  automotive_scenario::RunScenario(
      {{"REFINERY_REASON_URL", fake.url()},
       {"REFINERY_REASON_PROVIDER", "openai"},
       {"REFINERY_REASON_MODEL", "gpt-4o-mini"}},
      {pages::kAccord}, [&](const RefineryUp& up, const std::vector<int64_t>& ids) {
        EXPECT_EQ(table_answers.load(), 2) << "the code table's answer was not repaired by one round trip";
        const int64_t accord = ids[pages::kAccord];
        const json chunks = up.Get("/documents/" + std::to_string(accord) + "/chunks");
        ASSERT_EQ(chunks.value("chunks", json::array()).size(), 1u) << chunks.dump(2);
        const std::string why = Text(chunks["chunks"][0], "extraction_failure");
        EXPECT_NE(why.find("unusable answer"), std::string::npos) << chunks.dump(2);
        EXPECT_NE(why.find("P-0300"), std::string::npos) << "the reason should quote what was wrong: " << why;
        for (size_t i = 0; i < ids.size(); ++i) {
          if (i == pages::kAccord) continue;
          const json other = up.Get("/documents/" + std::to_string(ids[i]) + "/chunks");
          EXPECT_TRUE(other["chunks"][0].value("extraction_failure", json()).is_null()) << other.dump(2);
        }
        EXPECT_EQ(StatsCount(up, "chunks_extraction_failed"), 1);
        EXPECT_EQ(StatsCount(up, "chunks_evaluation_failed"), 0);
        const json status = up.Get("/documents/" + std::to_string(accord) + "/status");
        int logged = 0;
        for (const json& entry : status.value("processing_log", json::array())) {
          if (Text(entry, "status") == "chunk_failed" && Text(entry, "stage") == "extract") ++logged;
        }
        EXPECT_EQ(logged, 1) << status.dump(2);
        EXPECT_EQ(Text(status, "current_stage"), "complete") << status.dump(2);
        const std::string metrics = up.GetText("/metrics");
        EXPECT_TRUE(HasLine(metrics, R"(refinery_chunks_failed_total{stage="extract"} 1)")) << metrics;
        EXPECT_TRUE(HasLine(metrics, "refinery_chunks_extraction_failed 1")) << metrics;
        long code = 0;
        up.Get("/dtc/P0455", &code);
        EXPECT_EQ(code, 404) << "an invented code was stored";
        // Every page once, and the two repair round trips.
        EXPECT_EQ(fake.RequestCount("/v1/chat/completions"), static_cast<int>(2 * pages::Pages().size() + 2));
      });
}

}  // namespace
}  // namespace refinery::testing
