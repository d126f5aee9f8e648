// `refinery extract` (the evaluator and extractors on text, storing
// nothing: for profile authors) and `refinery profile check|list`.
#include <algorithm>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "core/json_depth.h"
#include "knowledge/evaluator.h"
#include "knowledge/extractor.h"
#include "knowledge/profile.h"

namespace refinery::cli {
namespace {

using nlohmann::json;

// One text to run on: a line of a .jsonl input, or the whole input.
struct Input {
  json id;
  std::string text;
};

// Invalid UTF-8 in a text must not abort the output (nlohmann throws).
std::string Compact(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

Result<Input> ParseLine(const std::string& line, const std::string& where) {
  if (!JsonDepthWithin(line, 64)) return Status::InvalidArgument(where + ": nested deeper than 64 levels");
  json value = json::parse(line, nullptr, false);
  if (value.is_discarded() || !value.is_object()) {
    return Status::InvalidArgument(where + ": expected a JSON object {\"id\", \"text\"}");
  }
  auto text = value.find("text");
  if (text == value.end() || !text->is_string()) return Status::InvalidArgument(where + ": \"text\" must be a string");
  auto id = value.find("id");
  return Input{id == value.end() ? json(nullptr) : *id, text->get<std::string>()};
}

nlohmann::ordered_json EvaluationJson(const Evaluation& e) {
  return {{"trust_score", e.trust_score},
          {"relevance_score", e.relevance_score},
          {"domain", e.domain},
          {"reasoning", e.reasoning},
          {"evaluator", e.evaluator}};
}

nlohmann::ordered_json EntityJson(const ExtractedEntity& e) {
  return {{"type", e.type}, {"key", e.key}, {"attributes", e.attributes}, {"start", e.start}, {"end", e.end}};
}

void PrintHuman(const Input& input, const Evaluation& e, const std::vector<ExtractedEntity>& entities) {
  std::cout << (input.id.is_null() ? std::string("-") : input.id.is_string() ? input.id.get<std::string>()
                                                                              : Compact(input.id))
            << ": trust " << std::fixed << std::setprecision(2) << e.trust_score << ", relevance "
            << e.relevance_score << ", domain " << e.domain << "\n  " << e.reasoning << "\n";
  for (const ExtractedEntity& entity : entities) {
    std::cout << "  " << entity.type << " " << entity.key;
    if (entity.attributes.contains("long")) std::cout << " = " << Compact(entity.attributes["long"]);
    std::cout << "  [" << entity.start << ", " << entity.end << ")\n";
  }
}

class ExtractRun {
 public:
  ExtractRun(std::shared_ptr<const Profile> profile, bool as_json)
      : evaluator_(NewRuleEvaluator(profile)), extractor_(NewRuleExtractor(profile)), as_json_(as_json) {}

  Status Run(const Input& input) {
    auto evaluation = evaluator_->Evaluate({input.text, "", ""});
    if (!evaluation.ok()) return evaluation.status();
    auto entities = extractor_->Extract(input.text);
    if (!entities.ok()) return entities.status();
    // A mention related to several codes is one item per relation; it is one thing here.
    entities->erase(std::unique(entities->begin(), entities->end(),
                                [](const ExtractedEntity& a, const ExtractedEntity& b) {
                                  return a.type == b.type && a.key == b.key && a.start == b.start && a.end == b.end;
                                }),
                    entities->end());
    if (!as_json_) {
      PrintHuman(input, *evaluation, *entities);
      return Status::Ok();
    }
    nlohmann::ordered_json out = {{"id", input.id}, {"evaluation", EvaluationJson(*evaluation)}};
    out["entities"] = nlohmann::ordered_json::array();
    for (const ExtractedEntity& e : *entities) out["entities"].push_back(EntityJson(e));
    std::cout << out.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    return Status::Ok();
  }

 private:
  std::unique_ptr<Evaluator> evaluator_;
  std::unique_ptr<Extractor> extractor_;
  bool as_json_;
};

// A .jsonl file, or stdin that starts with '{', is one text per line.
Status ExtractFrom(std::istream& in, const std::string& name, bool jsonl, ExtractRun& run) {
  if (!jsonl) {
    std::stringstream text;
    text << in.rdbuf();
    std::string all = text.str();
    if (name == "-" && all.find_first_not_of(" \t\r\n") != std::string::npos &&
        all[all.find_first_not_of(" \t\r\n")] == '{') {
      std::istringstream lines(all);
      return ExtractFrom(lines, name, true, run);
    }
    return run.Run({json(name), std::move(all)});
  }
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto input = ParseLine(line, name + ":" + std::to_string(number));
    if (!input.ok()) return input.status();
    REFINERY_RETURN_IF_ERROR(run.Run(*input));
  }
  return Status::Ok();
}

}  // namespace

void AddExtract(CLI::App& app, const GlobalFlags& flags, int* code) {
  auto* cmd = app.add_subcommand("extract", "Run the evaluator and extractors on text or .jsonl {id, text}; store nothing");
  auto file = std::make_shared<std::string>();
  auto profile_name = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  cmd->add_option("file", *file, "A text file, a .jsonl of {id, text}, or - for stdin")->required();
  cmd->add_option("--profile", *profile_name, "Profile name or .toml path (default: REFINERY_PROFILE)");
  cmd->add_flag("--json", *as_json, "Print JSON Lines: {id, evaluation, entities}");
  cmd->callback([&flags, code, file, profile_name, as_json] {
    auto config = LoadEffectiveConfig(flags, "extract");
    if (!config) return void(*code = kExitUsage);
    auto profile = LoadProfile(profile_name->empty() ? config->profile : *profile_name, config->profiles_dir);
    if (!profile.ok()) {
      std::cerr << "refinery: " << profile.status().message() << "\n";
      return void(*code = kExitUsage);
    }
    ExtractRun run(std::make_shared<const Profile>(std::move(profile).value()), *as_json);
    std::ifstream in;
    if (*file != "-") {
      in.open(*file, std::ios::binary);
      if (!in) {
        std::cerr << "refinery: cannot read " << *file << "\n";
        return void(*code = kExitUsage);
      }
    }
    Status s = ExtractFrom(*file == "-" ? std::cin : in, *file, file->ends_with(".jsonl"), run);
    if (!s.ok()) std::cerr << "refinery: " << s.message() << "\n";
    *code = s.ok() ? kExitOk : kExitUsage;
  });
}

void AddProfile(CLI::App& app, const GlobalFlags&, int* code) {
  auto* cmd = app.add_subcommand("profile", "Check a domain profile, or list the built-in ones");
  cmd->require_subcommand(1);
  auto* check = cmd->add_subcommand("check", "Validate a profile file; exit 2 naming the key if it is malformed");
  auto file = std::make_shared<std::string>();
  check->add_option("file", *file, "The profile (.toml), or a built-in name")->required();
  check->callback([code, file] {
    auto profile = LoadProfile(*file, "");
    if (!profile.ok()) {
      std::cerr << "refinery: " << profile.status().message() << "\n";
      return void(*code = kExitUsage);
    }
    std::cout << profile->source << ": ok (profile " << profile->name << ": " << profile->domains.size()
              << " domains, " << profile->entities.size() << " entity types)\n";
    *code = kExitOk;
  });
  auto* list = cmd->add_subcommand("list", "List the profiles built into this binary");
  list->callback([code] {
    for (const std::string& name : BuiltinProfileNames()) std::cout << name << "\n";
    *code = kExitOk;
  });
}

}  // namespace refinery::cli
