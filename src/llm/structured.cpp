// AskStructured: a model's answer made into checked JSON, with one repair
// round trip, and never paid for twice.
#include "llm/chat.h"
#include "llm/json_answer.h"

namespace refinery {
namespace {

using nlohmann::json;

// The answer parsed and checked; the reason it is unusable otherwise.
Result<json> Usable(const std::string& content, const ChatRequest& request,
                    const std::function<Status(const json&)>& check) {
  auto parsed = ParseJsonAnswer(content);
  if (!parsed.ok()) return parsed.status();
  REFINERY_RETURN_IF_ERROR(CheckAgainstSchema(*parsed, request.schema));
  if (check) REFINERY_RETURN_IF_ERROR(check(*parsed));
  return parsed;
}

// The conversation so far plus the bad answer and what was wrong with it.
ChatRequest RepairRequest(const ChatRequest& request, const std::string& bad, const std::string& problem) {
  ChatRequest repair = request;
  repair.messages.push_back({"assistant", bad});
  repair.messages.push_back({"user", "That answer cannot be used: " + problem +
                                         ". Answer again with only the corrected JSON object, matching the schema."});
  return repair;
}

}  // namespace

Result<StructuredAnswer> AskStructured(ChatModel& model, const ChatRequest& request, AnswerCache* cache,
                                       const std::function<Status(const json&)>& check) {
  const std::string key = model.RequestKey(request);
  if (cache != nullptr) {
    if (std::optional<std::string> hit = cache->Get(key)) {
      auto value = Usable(*hit, request, check);  // a cache entry is checked as strictly as an answer
      if (value.ok()) return StructuredAnswer{std::move(value).value(), false, true};
    }
  }
  auto first = model.Chat(request);
  if (!first.ok()) return first.status();
  auto value = Usable(first->content, request, check);
  bool repaired = false;
  if (!value.ok()) {
    auto second = model.Chat(RepairRequest(request, first->content, value.status().message()));
    if (!second.ok() && second.status().transient()) return second.status();
    if (!second.ok()) {
      return Status::InvalidArgument("unusable answer: " + value.status().message() + "; the repair failed too: " +
                                     second.status().message());
    }
    auto fixed = Usable(second->content, request, check);
    if (!fixed.ok()) {
      return Status::InvalidArgument("unusable answer: " + value.status().message() + "; after one repair: " +
                                     fixed.status().message());
    }
    value = std::move(fixed);
    repaired = true;
  }
  if (cache != nullptr) {
    cache->Put(key, model.Name(), value->dump(-1, ' ', false, json::error_handler_t::replace));
  }
  return StructuredAnswer{std::move(value).value(), repaired, false};
}

}  // namespace refinery
