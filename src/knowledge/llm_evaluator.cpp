// The LLM evaluator: the profile's [llm.evaluate] prompt and schema sent to
// the reasoning server; the answer checked (schema, score range, the
// profile's domain labels) and repaired once, never defaulted.
#include "core/utf8.h"
#include "knowledge/evaluator.h"
#include "knowledge/llm_prompts.h"

namespace refinery {
namespace {

using nlohmann::json;

constexpr size_t kMaxReasoningBytes = 1000;

class LlmEvaluator final : public Evaluator {
 public:
  LlmEvaluator(std::shared_ptr<const Profile> profile, std::shared_ptr<ChatModel> model, AnswerCache* cache)
      : profile_(std::move(profile)), model_(std::move(model)), cache_(cache),
        labels_(profile_->DomainLabels()), schema_(EvaluationSchema(*profile_, labels_)) {}

  std::string Name() const override { return model_->Name(); }

  Result<Evaluation> Evaluate(const EvaluationInput& input) override {
    ChatRequest request;
    request.schema = schema_;
    request.schema_name = "evaluation";
    request.messages = {{"system", profile_->evaluate.system},
                        {"user", FillPrompt(profile_->evaluate.prompt, {{"text", input.text},
                                                                        {"title", input.title},
                                                                        {"source_url", input.source_url},
                                                                        {"domains", JoinLabels(labels_)},
                                                                        {"schema", schema_.dump()}})}};
    auto answer = AskStructured(*model_, request, cache_, nullptr);
    if (!answer.ok()) return answer.status();
    const json& v = answer->value;
    Evaluation e;
    e.trust_score = v["trust_score"].get<double>();
    e.relevance_score = v["relevance_score"].get<double>();
    e.domain = v["domain"].get<std::string>();
    const std::string reasoning = v["reasoning"].get<std::string>();
    e.reasoning = std::string(Utf8Prefix(reasoning, kMaxReasoningBytes));
    e.evaluator = Name();
    return e;
  }

 private:
  std::shared_ptr<const Profile> profile_;
  std::shared_ptr<ChatModel> model_;
  AnswerCache* cache_;
  const std::vector<std::string> labels_;
  const json schema_;
};

}  // namespace

Result<std::unique_ptr<Evaluator>> NewLlmEvaluator(std::shared_ptr<const Profile> profile,
                                                   std::shared_ptr<ChatModel> model, AnswerCache* cache) {
  if (profile->evaluate.prompt.empty() || profile->evaluate.schema.empty()) {
    return Status::InvalidArgument("profile " + profile->name +
                                   " has no [llm.evaluate] prompt and schema: the LLM evaluator needs both");
  }
  return std::unique_ptr<Evaluator>(std::make_unique<LlmEvaluator>(std::move(profile), std::move(model), cache));
}

}  // namespace refinery
