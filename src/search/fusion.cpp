#include "search/fusion.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace refinery {

std::vector<FusedRank> ReciprocalRankFusion(const std::vector<Ranking>& rankings, double k) {
  std::unordered_map<int64_t, double> scores;
  for (const Ranking& ranking : rankings) {
    std::unordered_set<int64_t> seen;
    size_t rank = 0;
    for (int64_t id : ranking.ids) {
      if (!seen.insert(id).second) continue;
      scores[id] += ranking.weight / (k + static_cast<double>(++rank));
    }
  }
  std::vector<FusedRank> fused;
  fused.reserve(scores.size());
  for (const auto& [id, score] : scores) fused.push_back({id, score});
  std::sort(fused.begin(), fused.end(), [](const FusedRank& a, const FusedRank& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.id < b.id;
  });
  return fused;
}

}  // namespace refinery
