// The Extractor seam: typed items found in one chunk. Implementations: the
// built-in rule extractors named by the profile (here) and the LLM
// extractor (llm/, next issue).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "knowledge/profile.h"
#include "llm/chat.h"

namespace refinery {

struct ExtractedEntity {
  std::string type;  // an entity type of the profile: "acronym", "doi", "dtc"
  std::string key;   // normalised (EntityTypeDef::normalise) and valid (key_pattern)
  nlohmann::json attributes = nlohmann::json::object();  // by the type's field names
  size_t start = 0;  // byte span in the chunk's text of the mention: [start, end)
  size_t end = 0;
  std::string parent_type;  // a child record's owner (a cause of DTC P0420: "dtc", "P0420"); empty: none
  std::string parent_key;
};

class Extractor {
 public:
  virtual ~Extractor() = default;
  // Every item found, in text order. Keys are normalised and validated
  // (an invalid key is dropped, not returned). Errors: Unavailable/Timeout
  // when a remote extractor cannot be reached; InvalidArgument when its
  // answer is unusable.
  virtual Result<std::vector<ExtractedEntity>> Extract(std::string_view text) = 0;
  virtual std::string Name() const = 0;
};

// Runs the rule extractor of each entity type of the profile that names
// one. Thread-safe.
std::unique_ptr<Extractor> NewRuleExtractor(std::shared_ptr<const Profile> profile);

// The LLM extractor: the profile's [llm.extract] prompt and schema sent to
// `model` (answers checked, repaired once and cached in `cache`, which may
// be null and must outlive it); each entity type with an llm_list reads
// its items from that array of the answer. Items are held to the profile:
// keys normalised and matched against the type's pattern, fields typed
// (a value of the wrong kind or outside an enum is dropped), a top-level
// key must appear in the passage. An answer unusable after the repair is
// an InvalidArgument starting "unusable answer". InvalidArgument at
// construction for a profile without that prompt and schema or without
// any llm_list. Thread-safe.
Result<std::unique_ptr<Extractor>> NewLlmExtractor(std::shared_ptr<const Profile> profile,
                                                   std::shared_ptr<ChatModel> model, AnswerCache* cache);

// `key` normalised as the type says: exact; upper or lower (ASCII case);
// fold (lower case, runs of whitespace as one space, trimmed).
std::string NormaliseKey(const EntityTypeDef& type, std::string_view key);

}  // namespace refinery
