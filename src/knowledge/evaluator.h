// The Evaluator seam: how trustworthy and how relevant one chunk is.
// Implementations: the built-in rule evaluator (here, driven by the
// profile) and the LLM evaluator (llm/, next issue).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "knowledge/profile.h"
#include "llm/chat.h"

namespace refinery {

// One chunk with what is known about its document.
struct EvaluationInput {
  std::string_view text;        // the chunk
  std::string_view title;       // the document's title
  std::string_view source_url;  // empty when ingested without one
};

struct Evaluation {
  double trust_score = 0;      // [0, 1]: how far the text can be believed
  double relevance_score = 0;  // [0, 1]: how much it is about the profile's domain
  std::string domain;          // one of Profile::DomainLabels()
  std::string reasoning;       // short: why (the rule evaluator lists the signals that fired)
  std::string evaluator;       // "rules:research", "ollama:qwen2.5:7b", ...
};

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // Scores are in [0, 1] and domain is a label of the profile. Errors:
  // Unavailable/Timeout when a remote evaluator cannot be reached (the job
  // is retried), InvalidArgument when its answer is unusable (never
  // silently turned into a default score).
  virtual Result<Evaluation> Evaluate(const EvaluationInput& input) = 0;
  // As Evaluation::evaluator.
  virtual std::string Name() const = 0;
};

// The built-in, deterministic evaluator: a documented heuristic over the
// profile's trust hints, content signals, vocabulary and domain keywords
// (docs/knowledge.md). Thread-safe.
std::unique_ptr<Evaluator> NewRuleEvaluator(std::shared_ptr<const Profile> profile);

// The LLM evaluator: the profile's [llm.evaluate] prompt and schema (the
// domain limited to the profile's labels) sent to `model`, the answer
// checked and repaired once (AskStructured), cached in `cache` (may be
// null; must outlive it). An answer unusable after the repair is an
// InvalidArgument starting "unusable answer", for the stage to record as
// the chunk's failed evaluation. InvalidArgument at construction for a
// profile without that prompt and schema. Thread-safe.
Result<std::unique_ptr<Evaluator>> NewLlmEvaluator(std::shared_ptr<const Profile> profile,
                                                   std::shared_ptr<ChatModel> model, AnswerCache* cache);

}  // namespace refinery
