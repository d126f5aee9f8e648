// Reading models' JSON answers: the repairs small local models need, the
// errors that must never become a default, and the schema checks.
#include <gtest/gtest.h>

#include "llm/json_answer.h"

namespace refinery {
namespace {

using nlohmann::json;

json Parsed(const std::string& answer) {
  auto parsed = ParseJsonAnswer(answer);
  EXPECT_TRUE(parsed.ok()) << answer << ": " << parsed.status().ToString();
  return parsed.ok() ? *parsed : json();
}

TEST(ParseJsonAnswer, TakesAPlainObject) { EXPECT_EQ(Parsed(R"({"a": 1})"), json({{"a", 1}})); }

TEST(ParseJsonAnswer, RepairsFencesProseThinkingAndPython) {
  EXPECT_EQ(Parsed("```json\n{\"a\": 1}\n```"), json({{"a", 1}}));
  EXPECT_EQ(Parsed("Sure! Here is the JSON:\n{\"a\": {\"b\": [1, 2]}}\nHope that helps."),
            json({{"a", {{"b", {1, 2}}}}}));
  EXPECT_EQ(Parsed("<think>The user wants {x}. Let me answer.</think>\n{\"a\": 1}"), json({{"a", 1}}));
  EXPECT_EQ(Parsed("{'a': 'it\\'s', 'ok': True, 'none': None, 'list': [1, 2,],}"),
            json({{"a", "it's"}, {"ok", true}, {"none", nullptr}, {"list", {1, 2}}}));
  EXPECT_EQ(Parsed("{\"text\": \"a } brace and a \\\" quote\"}"), json({{"text", "a } brace and a \" quote"}}));
  // A brace in the prose before the answer: the next one opens it.
  EXPECT_EQ(Parsed("You asked for {the scores}; here they are: {\"a\": 1} {\"b\": 2}"), json({{"a", 1}}));
}

TEST(ParseJsonAnswer, UnusableAnswersAreErrorsThatSayWhy) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "empty"},
      {"   \n", "empty"},
      {"<think>I am still thinking about the question", "only its thinking"},
      {"I cannot help with that.", "no JSON object"},
      {"[1, 2, 3]", "no JSON object"},
      {"{\"a\": 1", "no JSON object"},
      {std::string(100, '[') + std::string(100, ']'), "nests deeper"},
  };
  for (const auto& [answer, why] : cases) {
    auto parsed = ParseJsonAnswer(answer);
    ASSERT_FALSE(parsed.ok()) << answer;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(why), std::string::npos) << parsed.status().message();
  }
}

const json kSchema = json::parse(R"({"type": "object", "required": ["score", "items"], "properties": {
  "score": {"type": "number", "minimum": 0, "maximum": 1},
  "label": {"enum": ["a", "b"]},
  "items": {"type": "array", "items": {"type": "object", "required": ["code"], "properties": {
    "code": {"type": "string", "pattern": "^[PBCU][0-9A-F]{4}$"}, "order": {"type": "integer"}}}}}})");

std::string Violation(const json& value) {
  Status s = CheckAgainstSchema(value, kSchema);
  EXPECT_FALSE(s.ok()) << value.dump();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  return s.message();
}

TEST(CheckAgainstSchema, AcceptsAValidAnswer) {
  EXPECT_TRUE(CheckAgainstSchema(json::parse(R"({"score": 1, "label": "a", "items": [{"code": "P0420", "order": 2}],
                                                 "extra": "ignored"})"),
                                 kSchema)
                  .ok());
}

TEST(CheckAgainstSchema, NamesTheFirstViolationByItsPath) {
  EXPECT_NE(Violation(json::parse(R"({"items": []})")).find("the required field \"score\""), std::string::npos);
  EXPECT_NE(Violation(json::parse(R"({"score": "high", "items": []})")).find("score: expected \"number\""),
            std::string::npos);
  EXPECT_NE(Violation(json::parse(R"({"score": 1.5, "items": []})")).find("score: 1.5 is above the maximum 1"),
            std::string::npos);
  EXPECT_NE(Violation(json::parse(R"({"score": 0, "label": "c", "items": []})")).find("label: \"c\" is not one of"),
            std::string::npos);
  EXPECT_NE(Violation(json::parse(R"({"score": 0, "items": [{"code": "P0420"}, {"code": "P04X0"}]})"))
                .find("items[1].code: \"P04X0\" does not match ^[PBCU][0-9A-F]{4}$"),
            std::string::npos);
  EXPECT_NE(Violation(json::parse(R"({"score": 0, "items": [{"code": "P0420", "order": 1.5}]})"))
                .find("items[0].order: expected \"integer\", got number"),
            std::string::npos);
  EXPECT_NE(Violation(json::parse(R"([1])")).find("the answer: expected \"object\""), std::string::npos);
}

}  // namespace
}  // namespace refinery
