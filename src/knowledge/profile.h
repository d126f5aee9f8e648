// A domain profile: what the evaluate and extract stages know about a
// domain, as data (profiles/*.toml). Refinery ships `research` (the
// default) and `automotive`; a deployment may add its own file. The
// built-in rule evaluator and extractors read every figure from here, and
// the LLM evaluator and extractor take their prompts and schemas from it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace refinery {

// A source whose URL matches `pattern` starts from `trust` instead of the
// base trust. Pattern: a glob (`*` any run, `?` one character) matched
// against the whole URL, case-insensitively.
struct TrustHint {
  std::string pattern;
  double trust = 0.5;
};

// Phrases (lower case, matched as whole words) and the trust they add per
// occurrence, up to `cap` in total (negative weights subtract).
struct PhraseSignal {
  std::vector<std::string> phrases;
  double weight = 0;
  double cap = 0;
};

// The built-in evaluator's content signals and what each adds to trust.
struct TrustSignals {
  double quantity = 0.02;   // per number with a unit, percentage or p-value
  double quantity_cap = 0.1;
  double citation = 0.03;   // per citation: "et al.", [12], a DOI or PMID
  double citation_cap = 0.1;
  double code = 0.03;       // per valid entity key a rule extractor finds (a DTC code)
  double code_cap = 0.1;
  double short_text = -0.1;  // text under `short_chars` characters
  int short_chars = 200;
  double shouting = -0.1;    // more than a fifth of the letters in capitals
  double exclamations = -0.05;  // per "!" beyond the second
  double exclamations_cap = -0.15;
  PhraseSignal spam;         // "buy now", "click here"
  PhraseSignal boilerplate;  // "all rights reserved", "cookie policy"
};

// An evaluation domain and the words (lower case; a trailing `*` is a
// prefix) that vote for it.
struct DomainDef {
  std::string name;
  std::vector<std::string> keywords;
};

// One attribute of an entity type.
struct EntityField {
  std::string name;
  std::string kind = "text";         // text | integer | number | list | enum
  std::vector<std::string> values;   // enum: the allowed values
  // How sources are merged: resolve (one value; disagreeing sources are a
  // conflict, the higher summed trust wins), union (every distinct value:
  // the default of lists), max / min (the largest / smallest number).
  std::string merge = "resolve";
};

// An entity type: its fields, how its key is made, and which built-in rule
// extractor finds it (empty: only an LLM extractor does).
struct EntityTypeDef {
  std::string name;        // "acronym", "dtc"
  // abbreviations | doi | pmid | arxiv | url | keyphrases | dtc_codes |
  // dtc_causes | dtc_steps | sensors | tsb | vehicles | "" (LLM only)
  std::string extractor;
  std::vector<EntityField> fields;
  std::string key_field;   // the attribute the key is made from
  std::string normalise = "exact";  // exact | upper | lower | fold (lower case, whitespace collapsed)
  std::string key_pattern;  // ECMAScript regex the normalised key must match whole; empty: any
  int max_per_text = 0;     // keyphrases: how many per text; 0: no limit
  // Words the rule extractor knows: the tools of a diagnostic step, the
  // words of a sensor's name, the makes of a vehicle.
  std::vector<std::string> vocabulary;
  // The LLM extractor ([llm.extract]): the answer's array holding this
  // type's items ("dtc_codes"; empty: the LLM does not extract the type),
  // the item field its key comes from (empty: key_field; an item that is a
  // string is the key), a condition on the item ("type=doi"), and for a
  // child record its parent type and the item field naming the parent's
  // key ("dtc:dtc_code": the key is then PARENT:normalised text).
  std::string llm_list;
  std::string llm_key;
  std::string llm_when;
  std::string llm_parent;
};

// What an LLM implementation sends: a system prompt, a user prompt
// template (`{text}`, `{title}`, `{source_url}`, `{domains}`, `{schema}`
// are filled in) and the JSON schema the answer must match.
struct LlmTask {
  std::string system;
  std::string prompt;
  std::string schema;  // a JSON object, checked at load
};

struct Profile {
  std::string name;
  std::string description;
  std::string source;  // the file it came from, or "built-in:<name>"

  double base_trust = 0.5;
  std::vector<TrustHint> trust_hints;  // first match wins
  TrustSignals signals;

  std::vector<DomainDef> domains;  // in order: ties go to the earlier one
  std::string default_domain = "general";  // nothing voted (always one of the labels)
  int domain_min_votes = 2;

  std::string relevance_description;     // what "relevant" means here (LLM prompts)
  std::vector<std::string> vocabulary;   // lower case; a trailing `*` is a prefix
  int relevance_saturation = 8;          // distinct vocabulary terms for relevance 1
  double relevance_floor = 0.1;          // relevance with no vocabulary term
  double extraction_gate = 0.3;  // extract skips chunks below this relevance
  // Extract a chunk whatever its relevance when a rule extractor finds a
  // valid key of one of these types in it (automotive: a DTC code).
  std::vector<std::string> always_extract;

  std::vector<EntityTypeDef> entities;
  LlmTask evaluate;
  LlmTask extract;

  // The labels an evaluation may carry: the domains, "general", "unknown".
  std::vector<std::string> DomainLabels() const;
  const EntityTypeDef* FindEntity(std::string_view type) const;
};

// Parses and validates a profile. `source` names it in messages. A
// malformed profile is an InvalidArgument naming the source, the key and
// the problem ("profiles/x.toml: evaluation.base_trust: expected a number
// in 0..1, got 1.5"); an unknown key is an error, not ignored.
Result<Profile> ParseProfile(std::string_view toml_text, const std::string& source);
// `name_or_path`: a file path (contains '/' or ends in ".toml"), or a name
// looked up as <profiles_dir>/<name>.toml, then ./profiles/<name>.toml,
// then among the profiles built into the binary.
Result<Profile> LoadProfile(const std::string& name_or_path, const std::string& profiles_dir);
// The profiles compiled into the binary (from profiles/*.toml), by name.
std::vector<std::string> BuiltinProfileNames();

}  // namespace refinery
