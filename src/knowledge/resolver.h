// Resolution: one entity from all of its mentions across documents
// (docs/knowledge.md, "Resolution"). The store calls it, per affected
// entity, inside the transaction that rewrites the entity.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "knowledge/profile.h"
#include "store/knowledge.h"

namespace refinery {

// The resolver for the profile's entity types (a type the profile does not
// name is merged with the defaults: every attribute single-valued text).
// Pure and deterministic: the same mentions give the same entity.
EntityResolver NewEntityResolver(std::shared_ptr<const Profile> profile);

// min(1, 0.3 * min(1, source_count / 5) + 0.7 * mean_trust): the Python
// system's formula (one source at trust 0.5 gives 0.41).
double EntityConfidence(int64_t source_count, double mean_trust);

// How text values are compared, and child records deduplicated: ASCII
// letters lower-cased, every other ASCII byte except digits a separator,
// separators collapsed to one space and trimmed, then one leading article
// ("a", "an", "the") dropped. "The O2 sensor, bank 1." == "o2 sensor bank 1".
std::string NormaliseText(std::string_view text);

// Two numeric values agree when they differ by at most 20% of the larger
// magnitude; two texts with numbers ("0.1-0.9 V") agree when they hold the
// same count of numbers, pairwise in agreement, and the same other words.
bool ValuesAgree(std::string_view a, std::string_view b);

}  // namespace refinery
