#include "store/knowledge_common.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "core/json_depth.h"
#include "core/utf8.h"

namespace refinery::knowledge_common {

Status RecomputeEntity(EntityTables& tables, const EntityKey& key, const EntityResolver& resolve) {
  auto mentions = tables.MentionsOf(key);
  if (!mentions.ok()) return mentions.status();
  if (mentions->empty()) return tables.DeleteEntity(key);
  ResolvedEntity resolved = resolve(key, *mentions);
  auto id = tables.UpsertEntity(key, resolved);
  if (!id.ok()) return id.status();
  REFINERY_RETURN_IF_ERROR(tables.ReplaceConflicts(*id, resolved.conflicts));
  return tables.ReplaceRelations(key, resolved.parents);
}

Status RecomputeEntities(EntityTables& tables, const std::vector<EntityKey>& keys, const EntityResolver& resolve) {
  for (const EntityKey& key : keys) REFINERY_RETURN_IF_ERROR(RecomputeEntity(tables, key, resolve));
  return Status::Ok();
}

Status CheckMentions(const std::vector<Mention>& mentions) {
  for (const Mention& m : mentions) {
    const std::string which = "mention of " + m.entity.type + " '" + m.entity.key.substr(0, 64) + "'";
    if (m.entity.type.empty() || m.entity.key.empty()) return Status::InvalidArgument("mention: empty type or key");
    if (m.entity.type.size() > 64 || m.entity.key.size() > 512 || m.parent.key.size() > 512) {
      return Status::InvalidArgument(which + ": type over 64 or key over 512 bytes");
    }
    if (m.start < 0 || m.start > m.end) return Status::InvalidArgument(which + ": need 0 <= start <= end");
    if (!(m.trust >= 0 && m.trust <= 1)) return Status::InvalidArgument(which + ": trust must be in [0, 1]");
    if (m.attributes_json.size() > 64 * 1024 || !JsonDepthWithin(m.attributes_json, 16)) {
      return Status::InvalidArgument(which + ": attributes over 64 KiB or nested over 16 levels");
    }
    auto parsed = nlohmann::json::parse(m.attributes_json, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return Status::InvalidArgument(which + ": attributes must be a JSON object");
    }
  }
  return Status::Ok();
}

Status CheckPage(int64_t limit, int64_t offset) {
  if (limit < 1 || limit > 1000) return Status::InvalidArgument("limit must be in 1..1000");
  if (offset < 0) return Status::InvalidArgument("offset must be >= 0");
  return Status::Ok();
}

std::vector<EntityKey> KeysOf(const std::vector<Mention>& mentions) {
  std::set<EntityKey> keys;
  for (const Mention& m : mentions) keys.insert(m.entity);
  return {keys.begin(), keys.end()};
}

std::string Excerpt(const std::string& chunk, int64_t start, int64_t end) {
  constexpr int64_t kAround = 300;
  const int64_t size = static_cast<int64_t>(chunk.size());
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  const int64_t slack = std::max<int64_t>(0, (kAround - (end - start)) / 2);
  size_t from = static_cast<size_t>(std::max<int64_t>(0, start - slack));
  while (from > 0 && !IsCodePointBoundary(chunk, from)) --from;
  const std::string_view rest = std::string_view(chunk).substr(from);
  return std::string(Utf8Prefix(rest, static_cast<size_t>(std::max<int64_t>(kAround, end - start))));
}

}  // namespace refinery::knowledge_common
